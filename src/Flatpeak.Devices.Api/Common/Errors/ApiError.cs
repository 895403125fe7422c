namespace Flatpeak.Devices.Api.Common;

/// <summary>The one error object of the API (API.md, "Errors"), returned for every non-2xx response.</summary>
public sealed record ApiError(
    string Object,
    bool LiveMode,
    string Context,
    string Type,
    string Code,
    string Message,
    string? Param,
    string RequestId,
    DateTimeOffset TimeCreated);
