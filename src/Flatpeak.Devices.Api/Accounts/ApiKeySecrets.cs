using System.Security.Cryptography;
using System.Text;

namespace Flatpeak.Devices.Api.Accounts;

/// <summary>
/// Makes and checks API keys. A key is 192 random bits, so a plain SHA-256 is a safe one-way store
/// (a slow password hash adds nothing against a search space that large), and lookups stay one index probe.
/// </summary>
public static class ApiKeySecrets
{
    public const string TestPrefix = "sk_test_";
    public const string LivePrefix = "sk_live_";
    private const int DisplayedLength = 16;

    public static string Generate(bool liveMode) =>
        (liveMode ? LivePrefix : TestPrefix) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string DisplayPrefix(string key) => key[..Math.Min(key.Length, DisplayedLength)];

    /// <summary>The mode a key grants, or null when the text is not shaped like one of our keys.</summary>
    public static bool? ModeOf(string key) =>
        key.StartsWith(LivePrefix, StringComparison.Ordinal) ? true
        : key.StartsWith(TestPrefix, StringComparison.Ordinal) ? false
        : null;

    public static ApiKey NewKey(string accountId, bool liveMode, DateTimeOffset now, out string secret)
    {
        secret = Generate(liveMode);
        return new ApiKey
        {
            AccountId = accountId,
            LiveMode = liveMode,
            KeyHash = Hash(secret),
            KeyPrefix = DisplayPrefix(secret),
            TimeCreated = now,
        };
    }
}
