using System.Text.Json;
using System.Text.Json.Serialization;
using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Locations;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>Source-generated (de)serialisers for every type on the wire; the options here are the API's JSON rules.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    MaxDepth = ApiJson.MaxDepth,
    Converters = [typeof(UtcTimestampConverter), typeof(StrictDoubleConverter)])]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(LoginResponse))]
[JsonSerializable(typeof(Customers.CreateCustomerRequest))]
[JsonSerializable(typeof(Customers.CustomerResponse))]
[JsonSerializable(typeof(ListResponse<Customers.CustomerResponse>))]
[JsonSerializable(typeof(Webhooks.CreateWebhookRequest))]
[JsonSerializable(typeof(Webhooks.WebhookResponse))]
[JsonSerializable(typeof(ListResponse<Webhooks.WebhookResponse>))]
[JsonSerializable(typeof(Webhooks.WebhookDeliveryResponse))]
[JsonSerializable(typeof(ListResponse<Webhooks.WebhookDeliveryResponse>))]
[JsonSerializable(typeof(Webhooks.JsonWebKeySet))]
[JsonSerializable(typeof(CreateLocationRequest))]
[JsonSerializable(typeof(LocationResponse))]
[JsonSerializable(typeof(CreateDeviceRequest))]
[JsonSerializable(typeof(DeviceResponse))]
[JsonSerializable(typeof(DeviceStates.SubmitDeviceStateRequest))]
[JsonSerializable(typeof(DeviceStates.DeviceStateSubmitted))]
[JsonSerializable(typeof(DeviceStates.DeviceStateResponse))]
[JsonSerializable(typeof(ListResponse<DeviceStates.DeviceStateResponse>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Data.DeletedResponse))]
[JsonSerializable(typeof(ListResponse<DeviceResponse>))]
[JsonSerializable(typeof(ListResponse<LocationResponse>))]
[JsonSerializable(typeof(EventResponse))]
[JsonSerializable(typeof(ListResponse<EventResponse>))]
[JsonSerializable(typeof(AccountCreated))]
[JsonSerializable(typeof(Health.HealthResponse))]
public sealed partial class ApiJsonContext : JsonSerializerContext;

public static class ApiJson
{
    /// <summary>Deepest nesting a body may have; a device body needs 3.</summary>
    public const int MaxDepth = 16;

    /// <summary>Makes the HTTP layer read and write JSON by the same rules as <see cref="ApiJsonContext"/>.</summary>
    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(o => Apply(o.SerializerOptions));

    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.PropertyNameCaseInsensitive = false;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.MaxDepth = MaxDepth;
        options.Converters.Add(new UtcTimestampConverter());
        options.Converters.Add(new StrictDoubleConverter());
        options.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
    }
}
