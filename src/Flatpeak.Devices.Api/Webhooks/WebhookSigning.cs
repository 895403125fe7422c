using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>
/// Signs deliveries as Flatpeak does: RSA-PSS (SHA-256, MGF1 SHA-256, salt 32 bytes) over <c>&lt;timestamp&gt;.&lt;raw body&gt;</c>,
/// with the active key of <see cref="WebhookOptions.SigningKeys"/>; publishes the public half of every configured key.
/// With no key configured, one is made at start-up (development only: each instance would sign with its own).
/// </summary>
public sealed partial class WebhookSigning : IDisposable
{
    private readonly List<(string KeyId, RSA Key)> _keys;
    private readonly (string KeyId, RSA Key) _active;

    public WebhookSigning(IOptions<WebhookOptions> options, ILogger<WebhookSigning> logger)
    {
        var configured = options.Value.SigningKeys;
        if (configured.Count == 0)
        {
            NoKeyConfigured(logger);
            _keys = [("ephemeral-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), RSA.Create(2048))];
        }
        else
        {
            _keys = [.. configured.Select(k => (k.KeyId, Import(k)))];
        }

        var activeId = options.Value.ActiveSigningKey ?? _keys[0].KeyId;
        _active = _keys.SingleOrDefault(k => k.KeyId == activeId) is { Key: not null } found
            ? found
            : throw new OptionsValidationException(WebhookOptions.Section, typeof(WebhookOptions), [$"Webhooks:ActiveSigningKey '{activeId}' is not one of Webhooks:SigningKeys."]);
    }

    public string ActiveKeyId => _active.KeyId;

    /// <summary>The signature of a delivery body sent at <paramref name="timestamp"/> (Unix seconds): base64url, no padding.</summary>
    public string Sign(long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return Base64Url.EncodeToString(_active.Key.SignData(signed, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
    }

    public JsonWebKeySet PublicKeys() => new([.. _keys.Select(k =>
    {
        var parameters = k.Key.ExportParameters(includePrivateParameters: false);
        return new JsonWebKeyResponse("RSA", "sig", "PS256", k.KeyId, Base64Url.EncodeToString(parameters.Modulus), Base64Url.EncodeToString(parameters.Exponent));
    })]);

    public void Dispose()
    {
        foreach (var (_, key) in _keys)
        {
            key.Dispose();
        }
    }

    private static RSA Import(SigningKeyOptions key)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportPkcs8PrivateKey(Convert.FromBase64String(key.PrivateKey), out _);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            rsa.Dispose();
            // Never the key itself in the message: only which one.
            throw new OptionsValidationException(WebhookOptions.Section, typeof(WebhookOptions), [$"Webhooks:SigningKeys '{key.KeyId}' is not a base64 PKCS#8 RSA private key."]);
        }

        if (rsa.KeySize < 2048 || string.IsNullOrWhiteSpace(key.KeyId))
        {
            rsa.Dispose();
            throw new OptionsValidationException(WebhookOptions.Section, typeof(WebhookOptions), [$"Webhooks:SigningKeys '{key.KeyId}' must have a KeyId and be RSA of at least 2048 bits."]);
        }

        return rsa;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No Webhooks:SigningKeys configured: signing webhooks with a key made for this process only.")]
    private static partial void NoKeyConfigured(ILogger logger);
}
