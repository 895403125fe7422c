using Flatpeak.Devices.Api.Auth;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
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
                    "against the locations where they are installed. Log in with GET /login (HTTP Basic: account id and API key), " +
                    "then send the bearer token it returns.",
            });
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
            swagger.SchemaFilter<WireSchemas>();
        });
        return services;
    }

    public static IApplicationBuilder UseApiDocumentation(this IApplicationBuilder app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "Flatpeak Devices API v1");
            ui.RoutePrefix = "swagger";
            ui.DocumentTitle = "Flatpeak Devices API";
            ui.EnablePersistAuthorization();
            ui.EnableTryItOutByDefault();
        });
        return app;
    }

    private sealed class SecurityRequirements : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            var scheme = operation.OperationId == "login" ? BasicScheme
                : metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any() ? BearerScheme
                : null;
            if (scheme is null)
            {
                return;
            }

            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecurityScheme { Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = scheme } }] = [],
            });
        }
    }

    private sealed class WireSchemas : ISchemaFilter
    {
        public void Apply(OpenApiSchema schema, SchemaFilterContext context)
        {
            if (context.MemberInfo?.DeclaringType == typeof(Devices.CreateDeviceRequest) && context.MemberInfo.Name == nameof(Devices.CreateDeviceRequest.Type)
                || context.MemberInfo?.DeclaringType == typeof(Devices.DeviceResponse) && context.MemberInfo.Name == nameof(Devices.DeviceResponse.Type))
            {
                schema.Enum = [.. Devices.DeviceTypes.All.Select(t => (Microsoft.OpenApi.Any.IOpenApiAny)new Microsoft.OpenApi.Any.OpenApiString(t))];
            }

            if (context.Type == typeof(LoginResponse))
            {
                schema.Required = new SortedSet<string>(schema.Properties.Keys);
            }
        }
    }
}
