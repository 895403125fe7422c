using System.ComponentModel.DataAnnotations;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>Configuration section <c>Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>Flatpeak's schedule: attempts at these delays after the event.</summary>
    public static readonly IReadOnlyList<TimeSpan> FlatpeakSchedule =
        [TimeSpan.Zero, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromHours(24)];

    /// <summary>Delays from the event of each attempt (<c>Webhooks__RetrySchedule__0=00:00:00</c>, …); Flatpeak's when empty.</summary>
    public List<TimeSpan> RetrySchedule { get; set; } = [];

    /// <summary>Lets deliveries go to loopback, private, link-local, unique-local and multicast addresses (development, tests).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>How long a receiver has to answer a 2xx.</summary>
    [Range(0.1, 600)]
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Attempts in flight at once in this instance, in total and per endpoint.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentAttempts { get; set; } = 32;

    [Range(1, 10_000)]
    public int MaxConcurrentAttemptsPerEndpoint { get; set; } = 16;

    /// <summary>
    /// How often the feed and the queue are read when nothing wakes them sooner: committed events wake every instance
    /// at once (Events/FeedSignal.cs), so this is the safety net, and the most a retry waits past its time.
    /// </summary>
    [Range(0.01, 3_600)]
    public double PollSeconds { get; set; } = 5;

    /// <summary>The signing keys: every one is published in <c>GET /jwks.json</c>; <see cref="ActiveSigningKey"/> signs.</summary>
    public List<SigningKeyOptions> SigningKeys { get; set; } = [];

    /// <summary>The key id (<c>kid</c>) of the key that signs; the first key when not set.</summary>
    public string? ActiveSigningKey { get; set; }

    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule.Count > 0 ? RetrySchedule : FlatpeakSchedule;
}

public sealed class SigningKeyOptions
{
    public string KeyId { get; set; } = string.Empty;

    /// <summary>The RSA 2048 private key, PKCS#8 DER in base64 (one line, fit for an environment variable or a secret store).</summary>
    public string PrivateKey { get; set; } = string.Empty;
}
