using System.Reflection;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Locations;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi.Any;
using Microsoft.OpenApi.Models;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Flatpeak.Devices.Api.OpenApi;

/// <summary>The OpenAPI document at <c>/swagger/v1/swagger.json</c> and Swagger UI at <c>/swagger</c>.</summary>
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
            swagger.MapType<System.Text.Json.JsonElement>(() => new OpenApiSchema { Type = "object" });
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
            swagger.UseSwagger();
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

            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecurityScheme { Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = scheme } }] = [],
            });
        }
    }

    private sealed class IdempotencyKeyHeader : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<Idempotency.IdempotencyFilter.IdempotentEndpoint>().Any())
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = Idempotency.IdempotencyFilter.Header,
                    In = ParameterLocation.Header,
                    Required = false,
                    Description = "Makes a retry safe: the same key and body within 24 hours replays the first response " +
                        "(with Idempotent-Replayed: true) and creates nothing. Another body with the same key: 422; while the first runs: 409.",
                    Schema = new OpenApiSchema { Type = "string", MinLength = 1, MaxLength = Idempotency.IdempotencyFilter.MaxKeyLength },
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
            foreach (var (status, response) in operation.Responses)
            {
                Add(response, Common.RequestIds.Header, "The request's id (req_…); error objects repeat it as request_id.");
                Add(response, Common.ApiVersions.Header, $"The API version served: {Common.ApiVersions.Served}.");
                switch (status)
                {
                    case "201":
                        Add(response, "Location", "The path of the object created.");
                        break;
                    case "429" or "503":
                        Add(response, "Retry-After", "Seconds to wait before trying again.", "integer");
                        break;
                }

                if (idempotent && status.StartsWith('2'))
                {
                    Add(response, Idempotency.IdempotencyFilter.ReplayedHeader, "true when this is the stored answer to an earlier request with the same Idempotency-Key.");
                }
            }
        }

        private static void Add(OpenApiResponse response, string name, string description, string type = "string") =>
            response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
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

            var create = context.SchemaGenerator.GenerateSchema(patchOf.RequestType, context.SchemaRepository);
            var name = "Update" + patchOf.RequestType.Name["Create".Length..];
            if (!context.SchemaRepository.Schemas.ContainsKey(name))
            {
                context.SchemaRepository.Schemas[name] = new OpenApiSchema(context.SchemaRepository.Schemas[create.Reference.Id])
                {
                    Required = new HashSet<string>(),
                    Description = "A JSON merge patch (RFC 7396): only the fields sent change, null clears an optional field, " +
                        "and objects merge field by field. The result must satisfy the rules of a create; required fields cannot be cleared.",
                };
            }

            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content =
                {
                    ["application/json"] = new OpenApiMediaType
                    {
                        Schema = new OpenApiSchema { Reference = new OpenApiReference { Type = ReferenceType.Schema, Id = name } },
                    },
                },
            };
        }
    }

    /// <summary>The list parameters arrive as text (so that a bad one gets our error object); document what they must be.</summary>
    private sealed class ListParameters : IParameterFilter
    {
        public void Apply(OpenApiParameter parameter, ParameterFilterContext context)
        {
            switch (parameter.Name)
            {
                case "limit":
                    parameter.Schema = new OpenApiSchema { Type = "integer", Format = "int32", Minimum = 1, Maximum = Paging.MaxLimit, Default = new OpenApiInteger(Paging.DefaultLimit) };
                    parameter.Description = $"How many objects to return, 1 to {Paging.MaxLimit}.";
                    break;
                case "starting_after":
                    parameter.Description = "An object id: return the objects created before it (the next page). Not with ending_before.";
                    break;
                case "ending_before":
                    parameter.Description = "An object id: return the objects created after it (the previous page). Not with starting_after.";
                    break;
                case "location_id":
                    parameter.Schema.Pattern = IdPattern(ObjectIds.Location);
                    parameter.Description = "Only devices at this location.";
                    break;
                case "reference_id":
                    parameter.Schema.MinLength = 1;
                    parameter.Schema.MaxLength = FieldRules.MaxTextLength;
                    parameter.Description = "Only objects with this reference_id.";
                    break;
                case "customer_id":
                    parameter.Schema.Pattern = IdPattern(ObjectIds.Customer);
                    parameter.Description = "Only locations of this customer.";
                    break;
                case "type" or "event_type" when context.ParameterInfo?.Member.DeclaringType == typeof(EventListQuery):
                    parameter.Schema.Enum = [.. EventTypes.All.Select(t => (IOpenApiAny)new OpenApiString(t))];
                    parameter.Description = parameter.Name == "type"
                        ? "Only events of this type."
                        : "Flatpeak's name for the type filter; send one of type and event_type.";
                    break;
                case "object_id":
                    parameter.Schema.Pattern = "^(" + string.Join('|', EventTypes.ObjectPrefixes) + ")_[0-9a-f]{24}$";
                    parameter.Description = $"Only events about this object (an id of a {string.Join(", ", EventTypes.ObjectNames)}).";
                    break;
            }
        }
    }

    private static string IdPattern(string prefix) => $"^{prefix}_[0-9a-f]{{24}}$";

    /// <summary>What the validators enforce, stated in the schemas, so that the document tells a client the same rules.</summary>
    private sealed class WireSchemas : ISchemaFilter
    {
        public void Apply(OpenApiSchema schema, SchemaFilterContext context)
        {
            var properties = schema.Properties;
            NullableReferences(schema, context.Type);
            if (context.Type == typeof(CreateDeviceRequest))
            {
                schema.Required = new SortedSet<string>(DeviceLimits.Required);
                Text(properties["reference_id"], nullable: false);
                Enum(properties["type"], DeviceTypes.All, nullable: false);
                LocationIds(properties["locations"]);
                Text(properties["manufacturer"]);
                Text(properties["model_code"]);
                Text(properties["model_name"]);
            }
            else if (context.Type == typeof(DeviceProperties))
            {
                Range(properties["power_rating_import_kwh"], DeviceLimits.PowerRatingImportKwh);
                Range(properties["capacity_kwh"], DeviceLimits.CapacityKwh);
                Range(properties["power_rating_export_kwh"], DeviceLimits.PowerRatingExportKwh);
                Range(properties["pv_azimuth"], DeviceLimits.PvAzimuth);
                Range(properties["pv_tilt"], DeviceLimits.PvTilt);
            }
            else if (context.Type == typeof(EventResponse))
            {
                Enum(properties["object"], ["event"], nullable: false);
                Enum(properties["type"], EventTypes.All, nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.Event);
                Enum(properties["api_version"], [Common.ApiVersions.Served], nullable: false);
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
                Enum(properties["object"], ["device"], nullable: false);
                Enum(properties["type"], DeviceTypes.All, nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.Device);
                properties["account_id"].Pattern = IdPattern(ObjectIds.Account);
                properties["locations"].Items.Pattern = IdPattern(ObjectIds.Location);
            }
            else if (context.Type == typeof(CreateLocationRequest))
            {
                Text(properties["reference_id"]);
                properties["customer_id"].Nullable = true;
                properties["customer_id"].Pattern = IdPattern(ObjectIds.Customer);
                properties["customer_id"].Description = "A customer of the same account and mode.";
            }
            else if (context.Type == typeof(PostalAddress))
            {
                foreach (var (name, property) in properties)
                {
                    Text(property);
                }

                properties["country_code"].Pattern = "^[A-Z]{2}$";
                properties["country_code"].Description = "ISO 3166-1 alpha-2 country code.";
            }
            else if (context.Type == typeof(LocationResponse))
            {
                Enum(properties["object"], ["location"], nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.Location);
                properties["account_id"].Pattern = IdPattern(ObjectIds.Account);
                properties["customer_id"].Pattern = IdPattern(ObjectIds.Customer);
                EmbeddedIds(properties["devices"], ObjectIds.Device, "devices that reference the location", "GET /devices?location_id=…");
            }
            else if (context.Type == typeof(Customers.CreateCustomerRequest))
            {
                Text(properties["reference_id"]);
            }
            else if (context.Type == typeof(Customers.CustomerResponse))
            {
                Enum(properties["object"], ["customer"], nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.Customer);
                properties["account_id"].Pattern = IdPattern(ObjectIds.Account);
                EmbeddedIds(properties["locations"], ObjectIds.Location, "locations of the customer", "GET /locations?customer_id=…");
            }
            else if (context.Type == typeof(Webhooks.CreateWebhookRequest))
            {
                schema.Required = new SortedSet<string>(["url", "enabled_events"]);
                WebhookUrl(properties["url"]);
                WebhookEvents(properties["enabled_events"]);
                Text(properties["description"]);
                Enum(properties["status"], Webhooks.WebhookRules.Statuses, nullable: true);
                properties["status"].Description = $"Default {Webhooks.WebhookRules.Enabled}.";
            }
            else if (context.Type == typeof(Webhooks.WebhookResponse))
            {
                Enum(properties["object"], ["webhook"], nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.Webhook);
                properties["account_id"].Pattern = IdPattern(ObjectIds.Account);
                WebhookUrl(properties["url"]);
                properties["url"].Nullable = false;
                WebhookEvents(properties["enabled_events"]);
                Enum(properties["status"], Webhooks.WebhookRules.Statuses, nullable: false);
            }
            else if (context.Type == typeof(Webhooks.WebhookDeliveryResponse))
            {
                Enum(properties["object"], ["webhook_delivery"], nullable: false);
                properties["id"].Pattern = IdPattern(ObjectIds.WebhookDelivery);
                properties["webhook_id"].Pattern = IdPattern(ObjectIds.Webhook);
                properties["event_id"].Pattern = IdPattern(ObjectIds.Event);
                Enum(properties["status"], ["pending", "succeeded", "failed"], nullable: false);
                properties["last_error"].MaxLength = Webhooks.WebhookRules.MaxErrorLength;
            }
            else if (context.Type == typeof(Webhooks.JsonWebKeyResponse))
            {
                Enum(properties["kty"], ["RSA"], nullable: false);
                Enum(properties["use"], ["sig"], nullable: false);
                Enum(properties["alg"], ["PS256"], nullable: false);
            }
            else if (context.Type == typeof(DeletedResponse))
            {
                Enum(properties["object"], [.. EventTypes.ObjectNames, "webhook"], nullable: false);
            }
            else if (context.Type.IsGenericType && context.Type.GetGenericTypeDefinition() == typeof(ListResponse<>))
            {
                Enum(properties["object"], ["list"], nullable: false);
            }
            else if (context.Type == typeof(ApiError))
            {
                Enum(properties["object"], ["error"], nullable: false);
                Enum(properties["type"], ["invalid_request", "rate_limit", "api_error"], nullable: false);
                properties["request_id"].Pattern = IdPattern(ObjectIds.Request);
            }
            else if (context.Type == typeof(LoginResponse))
            {
                schema.Required = new SortedSet<string>(properties.Keys);
            }
        }

        /// <summary>
        /// An object property that can be null (<c>postal_address</c> of a location without one, <c>properties: null</c>
        /// in a request) is a <c>$ref</c>, which cannot say so itself in OpenAPI 3.0: wrap it as <c>allOf</c> + <c>nullable</c>.
        /// </summary>
        private static void NullableReferences(OpenApiSchema schema, Type type)
        {
            var nullability = new NullabilityInfoContext();
            foreach (var property in type.GetProperties())
            {
                var name = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
                if (schema.Properties.TryGetValue(name, out var reference) && reference.Reference is not null &&
                    nullability.Create(property).ReadState == NullabilityState.Nullable)
                {
                    schema.Properties[name] = new OpenApiSchema { Type = "object", AllOf = [reference], Nullable = true };
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
            property.Nullable = false;
            property.MinItems = 1;
            property.UniqueItems = true;
            property.Items.Enum = [.. Webhooks.WebhookRules.EventChoices.Select(t => (IOpenApiAny)new OpenApiString(t))];
            property.Description = "The event types sent to the endpoint, or [\"*\"] for all.";
        }

        private static void EmbeddedIds(OpenApiSchema property, string prefix, string what, string fullList)
        {
            property.Items.Pattern = IdPattern(prefix);
            property.MaxItems = EmbeddedId.Max;
            property.Description = $"The ids of the newest {EmbeddedId.Max} {what}, newest first; all of them: {fullList}.";
        }

        /// <summary>Never null, on create or update: a device is always somewhere.</summary>
        private static void LocationIds(OpenApiSchema property)
        {
            property.Nullable = false;
            property.MinItems = 1;
            property.MaxItems = DeviceLimits.MaxLocations;
            property.UniqueItems = true;
            property.Items.Pattern = IdPattern(ObjectIds.Location);
        }

        private static void Range(OpenApiSchema property, NumberRange range)
        {
            property.Minimum = (decimal)range.Minimum;
            property.Maximum = (decimal?)range.Maximum;
        }

        private static void Text(OpenApiSchema property, bool nullable = true)
        {
            property.Nullable = nullable;
            property.MinLength = 1;
            property.MaxLength = FieldRules.MaxTextLength;
        }

        private static void Enum(OpenApiSchema property, IEnumerable<string> values, bool nullable)
        {
            property.Nullable = nullable;
            property.Enum = [.. values.Select(v => (IOpenApiAny)new OpenApiString(v))];
        }
    }
}
