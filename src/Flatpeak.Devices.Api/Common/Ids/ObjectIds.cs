using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Object ids as API.md defines them: a prefix, '_' and 24 lowercase hex digits built like a MongoDB
/// ObjectId (4 bytes of Unix seconds, 5 random bytes fixed per process, a 3-byte counter), so ids sort
/// by creation time and two processes never produce the same id.
/// </summary>
public sealed class ObjectIds(TimeProvider time)
{
    public const string Account = "acc";
    public const string Location = "loc";
    public const string Device = "dev";
    public const string Customer = "cus";
    public const string Webhook = "whe";
    public const string WebhookDelivery = "whd";
    public const string Event = "evt";
    public const string DeviceState = "dsr";
    public const string Request = "req";

    private const int HexLength = 24;
    private static readonly byte[] ProcessRandom = RandomNumberGenerator.GetBytes(5);
    private static int _counter = RandomNumberGenerator.GetInt32(0, 0x1000000);

    public string New(string prefix) => New(prefix, time.GetUtcNow());

    public static string New(string prefix, DateTimeOffset at)
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)at.ToUnixTimeSeconds());
        ProcessRandom.CopyTo(bytes[4..]);
        var counter = Interlocked.Increment(ref _counter) & 0xFFFFFF;
        bytes[9] = (byte)(counter >> 16);
        bytes[10] = (byte)(counter >> 8);
        bytes[11] = (byte)counter;
        return string.Concat(prefix, "_", Convert.ToHexStringLower(bytes));
    }

    public static bool IsValid(string? id, string prefix)
    {
        if (id is null || id.Length != prefix.Length + 1 + HexLength || !id.StartsWith(prefix, StringComparison.Ordinal) || id[prefix.Length] != '_')
        {
            return false;
        }

        foreach (var c in id.AsSpan(prefix.Length + 1))
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The least id of an object created at or after <paramref name="at"/> (its second): ids sort by it.</summary>
    public static string FirstAt(string prefix, DateTimeOffset at) =>
        $"{prefix}_{(uint)at.ToUnixTimeSeconds():x8}";

    /// <summary>The creation time an id carries, to the second.</summary>
    public static DateTimeOffset TimeOf(string id) =>
        DateTimeOffset.FromUnixTimeSeconds(Convert.ToUInt32(id[^HexLength..^(HexLength - 8)], 16));
}
