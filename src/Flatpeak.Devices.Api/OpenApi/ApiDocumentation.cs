using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Locations;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Flatpeak.Devices.Api.OpenApi;

/// <summary>The OpenAPI 3.1 document at <c>/swagger/v1/swagger.json</c> and Swagger UI at <c>/swagger</c>.</summary>
public static class ApiDocumentation
{
    public const string BearerScheme = "bearer";
    public const string BasicScheme = "basic";

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        // Describe schemas with the serializer options the endpoints use, so the document names fields as the wire does.
        services.AddSingleton<ISerializerDataContractResolver>(sp =>
            new JsonSerializerDataContractResolver(sp.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions));
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Flatpeak Devices API",
                Version = "v1",
                Description = "Register the energy devices of your customers (EV chargers, cars, home batteries, solar systems) " +
                    "against the locations where they are installed. Log in with GET /login or POST /auth/tokens (HTTP Basic: account id and API key), " +
                    "then send the bearer token it returns.",
                License = new OpenApiLicense { Name = "Proprietary" },
            });
            // Relative to where the document is served, so that Try it out and generated clients call this service.
            swagger.AddServer(new OpenApiServer { Url = "/", Description = "This service" });
            swagger.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The bearer_token from GET /login.",
            });
            swagger.AddSecurityDefinition(BasicScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "basic",
                Description = "User name: your account id (acc_…). Password: an API key (sk_test_… or sk_live_…).",
            });
            swagger.SupportNonNullableReferenceTypes();
            swagger.NonNullableReferenceTypesAsRequired();
            swagger.OperationFilter<SecurityRequirements>();
            swagger.OperationFilter<Examples>();
            swagger.OperationFilter<IdempotencyKeyHeader>();
            swagger.OperationFilter<MergePatchBodies>();
            swagger.OperationFilter<ResponseHeaders>();
            // A merge patch arrives as raw JSON; MergePatchBodies documents its real schema.
            swagger.MapType<System.Text.Json.JsonElement>(() => new OpenApiSchema { Type = JsonSchemaType.Object });
            swagger.SchemaFilter<WireSchemas>();
            swagger.ParameterFilter<ListParameters>();
        });
        return services;
    }

    /// <summary>What Swagger UI may load and do: its own files only, no inline scripts, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The document and Swagger UI under <c>/swagger</c>; other requests do not pass through their middleware.</summary>
    public static IApplicationBuilder UseApiDocumentation(this IApplicationBuilder app)
    {
        // Credentials kept in the browser's storage are a convenience for a developer, not for a shared machine.
        var development = app.ApplicationServices.GetRequiredService<IHostEnvironment>().IsDevelopment();
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/swagger"), swagger =>
        {
            swagger.Use((http, next) =>
            {
                http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                return next(http);
            });
            swagger.UseSwagger(document => document.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1);
            swagger.UseSwaggerUI(ui =>
            {
                ui.SwaggerEndpoint("/swagger/v1/swagger.json", "Flatpeak Devices API v1");
                ui.RoutePrefix = "swagger";
                ui.DocumentTitle = "Flatpeak Devices API";
                if (development)
                {
                    ui.EnablePersistAuthorization();
                }

                ui.EnableTryItOutByDefault();
            });
        });
        return app;
    }

    private sealed class SecurityRequirements : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            var scheme = operation.OperationId is "login" or "auth_token_create" ? BasicScheme
                : metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any() ? BearerScheme
                : null;
            if (scheme is null)
            {
                // Said outright: this operation needs no credentials.
                operation.Security = [new OpenApiSecurityRequirement()];
                return;
            }

            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] });
        }
    }

    private sealed class IdempotencyKeyHeader : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<Idempotency.IdempotencyFilter.IdempotentEndpoint>().Any())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = Idempotency.IdempotencyFilter.Header,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "Makes a retry safe: the same key and body within 24 hours replays the first response " +
                        "(with Idempotent-Replayed: true) and creates nothing. Another body with the same key: 422; while the first runs: 409.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = Idempotency.IdempotencyFilter.MaxKeyLength },
                });
            }
        }
    }

    /// <summary>The headers responses carry, stated per response: Request-Id on all, and the others where they are sent.</summary>
    private sealed class ResponseHeaders : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var idempotent = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<Idempotency.IdempotencyFilter.IdempotentEndpoint>().Any();
            foreach (var (status, response) in operation.Responses ?? [])
            {
                Add(response, Common.RequestIds.Header, "The request's id (req_…); error objects repeat it as request_id.");
                Add(response, Common.ApiVersions.Header, $"The API version served: {Common.ApiVersions.Served}.");
                switch (status)
                {
                    case "201":
                        Add(response, "Location", "The path of the object created.");
                        break;
                    case "429" or "503":
                        Add(response, "Retry-After", "Seconds to wait before trying again.", JsonSchemaType.Integer);
                        break;
                }

                if (idempotent && status.StartsWith('2'))
                {
                    Add(response, Idempotency.IdempotencyFilter.ReplayedHeader, "true when this is the stored answer to an earlier request with the same Idempotency-Key.");
                }
            }
        }

        private static void Add(IOpenApiResponse response, string name, string description, JsonSchemaType type = JsonSchemaType.String)
        {
            var writable = (OpenApiResponse)response;
            writable.Headers ??= new Dictionary<string, IOpenApiHeader>();
            writable.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
        }
    }

    /// <summary>
    /// A PATCH body is read as raw JSON (a merge patch); its schema is the create request's, with nothing required,
    /// derived here rather than written again.
    /// </summary>
    private sealed class MergePatchBodies : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var patchOf = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<PatchValidation.PatchOf>().SingleOrDefault();
            if (patchOf is null)
            {
                return;
            }

            var create = (OpenApiSchemaReference)context.SchemaGenerator.GenerateSchema(patchOf.RequestType, context.SchemaRepository);
            var name = "Update" + patchOf.RequestType.Name["Create".Length..];
            if (!context.SchemaRepository.Schemas.ContainsKey(name))
            {
                var patch = (OpenApiSchema)context.SchemaRepository.Schemas[create.Reference.Id!].CreateShallowCopy();
                patch.Required = new HashSet<string>();
                patch.Description = "A JSON merge patch (RFC 7396): only the fields sent change, null clears an optional field, " +
                    "and objects merge field by field. The result must satisfy the rules of a create; required fields cannot be cleared.";
                context.SchemaRepository.Schemas[name] = patch;
            }

            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, IOpenApiMediaType>
                {
                    ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(name, context.Document) },
                },
            };
        }
    }

    /// <summary>The list parameters arrive as text (so that a bad one gets our error object); document what they must be.</summary>
    private sealed class ListParameters : IParameterFilter
    {
        public void Apply(IOpenApiParameter described, ParameterFilterContext context)
        {
            var parameter = (OpenApiParameter)described;
            var schema = parameter.Schema as OpenApiSchema;
            switch (parameter.Name)
            {
                case "limit":
                    parameter.Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Integer,
                        Format = "int32",
                        Minimum = "1",
                        Maximum = Number(Paging.MaxLimit),
                        Default = JsonValue.Create(Paging.DefaultLimit),
                    };
                    parameter.Description = $"How many objects to return, 1 to {Paging.MaxLimit}.";
                    break;
                case "starting_after":
                    parameter.Description = "An object id: return the objects created before it (the next page). Not with ending_before.";
                    break;
                case "ending_before":
                    parameter.Description = "An object id: return the objects created after it (the previous page). Not with starting_after.";
                    break;
                case "location_id":
                    schema!.Pattern = IdPattern(ObjectIds.Location);
                    parameter.Description = "Only devices at this location.";
                    break;
                case "reference_id":
                    schema!.MinLength = 1;
                    schema.MaxLength = FieldRules.MaxTextLength;
                    parameter.Description = "Only objects with this reference_id.";
                    break;
                case "customer_id":
                    schema!.Pattern = IdPattern(ObjectIds.Customer);
                    parameter.Description = "Only locations of this customer.";
                    break;
                case "type" or "event_type" when context.ParameterInfo?.Member.DeclaringType == typeof(EventListQuery):
                    schema!.Enum = Values(EventTypes.All);
                    parameter.Description = parameter.Name == "type"
                        ? "Only events of this type."
                        : "Flatpeak's name for the type filter; send one of type and event_type.";
                    break;
                case "object_id":
                    schema!.Pattern = "^(" + string.Join('|', EventTypes.ObjectPrefixes) + ")_[0-9a-f]{24}$";
                    parameter.Description = $"Only events about this object (an id of a {string.Join(", ", EventTypes.ObjectNames)}).";
                    break;
            }
        }
    }

    private static string IdPattern(string prefix) => $"^{prefix}_[0-9a-f]{{24}}$";

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static List<JsonNode> Values(IEnumerable<string> values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v))];

    /// <summary>What the validators enforce, stated in the schemas, so that the document tells a client the same rules.</summary>
    private sealed class WireSchemas : ISchemaFilter
    {
        public void Apply(IOpenApiSchema described, SchemaFilterContext context)
        {
            if (described is not OpenApiSchema { Properties: { } properties } schema)
            {
                return;
            }

            OpenApiSchema P(string name) => (OpenApiSchema)properties[name];
            NullableReferences(schema, context.Type);
            if (context.Type.Name.Contains("Response", StringComparison.Ordinal) || context.Type == typeof(ApiError) || context.Type == typeof(Webhooks.JsonWebKeySet))
            {
                // An answer always carries every field (null when it has no value).
                schema.Required = new SortedSet<string>(properties.Keys);
            }

            if (context.Type == typeof(CreateDeviceRequest))
            {
                schema.Required = new SortedSet<string>(DeviceLimits.Required);
                Text(P("reference_id"), nullable: false);
                Enum(P("type"), DeviceTypes.All, nullable: false);
                LocationIds(P("locations"));
                Text(P("manufacturer"));
                Text(P("model_code"));
                Text(P("model_name"));
            }
            else if (context.Type == typeof(DeviceProperties))
            {
                Range(P("power_rating_import_kwh"), DeviceLimits.PowerRatingImportKwh);
                Range(P("capacity_kwh"), DeviceLimits.CapacityKwh);
                Range(P("power_rating_export_kwh"), DeviceLimits.PowerRatingExportKwh);
                Range(P("pv_azimuth"), DeviceLimits.PvAzimuth);
                Range(P("pv_tilt"), DeviceLimits.PvTilt);
            }
            else if (context.Type == typeof(EventResponse))
            {
                Enum(P("object"), ["event"], nullable: false);
                Enum(P("type"), EventTypes.All, nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.Event);
                P("api_version").Description = $"The API version the event was written under: {Common.ApiVersions.Served} (earlier events may carry {Common.ApiVersions.Alias}).";
                Enum(P("api_version"), [Common.ApiVersions.Served, Common.ApiVersions.Alias], nullable: false);
                properties["data"] = new OpenApiSchema
                {
                    Description = "The object the event is about, as stored right after the change (for a delete, as it was just before).",
                    OneOf =
                    [
                        context.SchemaGenerator.GenerateSchema(typeof(DeviceResponse), context.SchemaRepository),
                        context.SchemaGenerator.GenerateSchema(typeof(LocationResponse), context.SchemaRepository),
                        context.SchemaGenerator.GenerateSchema(typeof(Customers.CustomerResponse), context.SchemaRepository),
                    ],
                };
            }
            else if (context.Type == typeof(DeviceResponse))
            {
                Enum(P("object"), ["device"], nullable: false);
                Enum(P("type"), DeviceTypes.All, nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.Device);
                P("account_id").Pattern = IdPattern(ObjectIds.Account);
                ((OpenApiSchema)P("locations").Items!).Pattern = IdPattern(ObjectIds.Location);
            }
            else if (context.Type == typeof(CreateLocationRequest))
            {
                Text(P("reference_id"));
                Nullable(P("customer_id"), true);
                P("customer_id").Pattern = IdPattern(ObjectIds.Customer);
                P("customer_id").Description = "A customer of the same account and mode.";
            }
            else if (context.Type == typeof(PostalAddress))
            {
                foreach (var name in properties.Keys)
                {
                    Text(P(name));
                }

                P("country_code").Pattern = "^[A-Z]{2}$";
                P("country_code").Description = "ISO 3166-1 alpha-2 country code.";
            }
            else if (context.Type == typeof(LocationResponse))
            {
                Enum(P("object"), ["location"], nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.Location);
                P("account_id").Pattern = IdPattern(ObjectIds.Account);
                P("customer_id").Pattern = IdPattern(ObjectIds.Customer);
                EmbeddedIds(P("devices"), ObjectIds.Device, "devices that reference the location", "GET /devices?location_id=…");
            }
            else if (context.Type == typeof(Customers.CreateCustomerRequest))
            {
                Text(P("reference_id"));
            }
            else if (context.Type == typeof(Customers.CustomerResponse))
            {
                Enum(P("object"), ["customer"], nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.Customer);
                P("account_id").Pattern = IdPattern(ObjectIds.Account);
                EmbeddedIds(P("locations"), ObjectIds.Location, "locations of the customer", "GET /locations?customer_id=…");
            }
            else if (context.Type == typeof(Webhooks.CreateWebhookRequest))
            {
                schema.Required = new SortedSet<string>(["url", "enabled_events"]);
                WebhookUrl(P("url"));
                WebhookEvents(P("enabled_events"));
                Text(P("description"));
                Enum(P("status"), Webhooks.WebhookRules.Statuses, nullable: true);
                P("status").Description = $"Default {Webhooks.WebhookRules.Enabled}.";
            }
            else if (context.Type == typeof(Webhooks.WebhookResponse))
            {
                Enum(P("object"), ["webhook"], nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.Webhook);
                P("account_id").Pattern = IdPattern(ObjectIds.Account);
                WebhookUrl(P("url"));
                Nullable(P("url"), false);
                WebhookEvents(P("enabled_events"));
                Enum(P("status"), Webhooks.WebhookRules.Statuses, nullable: false);
            }
            else if (context.Type == typeof(Webhooks.WebhookDeliveryResponse))
            {
                Enum(P("object"), ["webhook_delivery"], nullable: false);
                P("id").Pattern = IdPattern(ObjectIds.WebhookDelivery);
                P("webhook_id").Pattern = IdPattern(ObjectIds.Webhook);
                P("event_id").Pattern = IdPattern(ObjectIds.Event);
                Enum(P("status"), ["pending", "succeeded", "failed"], nullable: false);
                P("last_error").MaxLength = Webhooks.WebhookRules.MaxErrorLength;
            }
            else if (context.Type == typeof(Webhooks.JsonWebKeyResponse))
            {
                Enum(P("kty"), ["RSA"], nullable: false);
                Enum(P("use"), ["sig"], nullable: false);
                Enum(P("alg"), ["PS256"], nullable: false);
            }
            else if (context.Type == typeof(DeletedResponse))
            {
                Enum(P("message"), ["Accepted"], nullable: false);
                Enum(P("object"), [.. EventTypes.ObjectNames, "webhook"], nullable: false);
            }
            else if (context.Type.IsGenericType && context.Type.GetGenericTypeDefinition() == typeof(ListResponse<>))
            {
                Enum(P("object"), ["list"], nullable: false);
            }
            else if (context.Type == typeof(ApiError))
            {
                Enum(P("object"), ["error"], nullable: false);
                Enum(P("type"), ["invalid_request", "rate_limit", "api_error"], nullable: false);
                P("request_id").Pattern = IdPattern(ObjectIds.Request);
            }
        }

        /// <summary>
        /// An object property that can be null (<c>postal_address</c> of a location without one, <c>properties: null</c>
        /// in a request) is a <c>$ref</c>: in OpenAPI 3.1 (JSON Schema 2020-12) it becomes one of the object or null.
        /// </summary>
        private static void NullableReferences(OpenApiSchema schema, Type type)
        {
            var nullability = new NullabilityInfoContext();
            foreach (var property in type.GetProperties())
            {
                var name = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
                if (schema.Properties!.TryGetValue(name, out var reference) && reference is OpenApiSchemaReference &&
                    nullability.Create(property).ReadState == NullabilityState.Nullable)
                {
                    schema.Properties[name] = new OpenApiSchema { OneOf = [reference, new OpenApiSchema { Type = JsonSchemaType.Null }] };
                }
            }
        }

        private static void WebhookUrl(OpenApiSchema property)
        {
            property.Format = "uri";
            property.MaxLength = Webhooks.WebhookRules.MaxUrlLength;
            property.Description = "Absolute URL without user info: https in live mode, http or https in test mode.";
        }

        private static void WebhookEvents(OpenApiSchema property)
        {
            Nullable(property, false);
            property.MinItems = 1;
            property.UniqueItems = true;
            ((OpenApiSchema)property.Items!).Enum = Values(Webhooks.WebhookRules.EventChoices);
            property.Description = "The event types sent to the endpoint, or [\"*\"] for all.";
        }

        private static void EmbeddedIds(OpenApiSchema property, string prefix, string what, string fullList)
        {
            ((OpenApiSchema)property.Items!).Pattern = IdPattern(prefix);
            property.MaxItems = EmbeddedId.Max;
            property.Description = $"The ids of the newest {EmbeddedId.Max} {what}, newest first; all of them: {fullList}.";
        }

        /// <summary>Never null, on create or update: a device is always somewhere.</summary>
        private static void LocationIds(OpenApiSchema property)
        {
            Nullable(property, false);
            property.MinItems = 1;
            property.MaxItems = DeviceLimits.MaxLocations;
            property.UniqueItems = true;
            ((OpenApiSchema)property.Items!).Pattern = IdPattern(ObjectIds.Location);
        }

        private static void Range(OpenApiSchema property, NumberRange range)
        {
            property.Minimum = Number(range.Minimum);
            property.Maximum = range.Maximum is { } maximum ? Number(maximum) : null;
        }

        private static void Text(OpenApiSchema property, bool nullable = true)
        {
            Nullable(property, nullable);
            property.MinLength = 1;
            property.MaxLength = FieldRules.MaxTextLength;
        }

        /// <summary>The allowed values; a property that may be null lists null among them too (JSON Schema checks both).</summary>
        private static void Enum(OpenApiSchema property, IEnumerable<string> values, bool nullable)
        {
            Nullable(property, nullable);
            property.Enum = nullable ? [.. Values(values), null!] : Values(values);
        }

        private static void Nullable(OpenApiSchema property, bool nullable) =>
            property.Type = nullable ? (property.Type ?? JsonSchemaType.String) | JsonSchemaType.Null : property.Type & ~JsonSchemaType.Null;
    }
}
