// The floor of this stack for POST /devices: the same pieces as the service (minimal API, JwtBearer, FluentValidation,
// source-generated JSON, Npgsql) and the service's statement as pgbench runs it — bench/design-ceiling.sql: the
// location check, the device, its location row and its event in one statement, with the device's values as literals
// and its ids and event JSON made in SQL (so PostgreSQL does a little more here, and this program less, than with the
// service's bound parameters) — and nothing else: no error object, idempotency, rate limit, request ids, strict JSON
// checks, revoked-key check, EF Core or webhooks. bench/run.sh measures it beside the service, so that the service's
// CPU per request can be read against what the stack itself costs on the same machine that day.
using System.Text;
using System.Text.Json.Serialization;
using FluentValidation;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
    o.SerializerOptions.TypeInfoResolverChain.Insert(0, FloorJson.Default);
});
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(jwt =>
{
    jwt.MapInboundClaims = false;
    jwt.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = "flatpeak-devices",
        ValidateAudience = false,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(builder.Configuration["Auth:SigningKey"]!)),
    };
});
builder.Services.AddAuthorization();
builder.Services.AddSingleton<IValidator<CreateDevice>, CreateDeviceValidator>();
// As the service sets its pool (Data/DataExtensions.cs): statements prepared automatically, no reset on return.
builder.Services.AddSingleton(new NpgsqlDataSourceBuilder(builder.Configuration.GetConnectionString("Postgres"))
{
    ConnectionStringBuilder = { MaxAutoPrepare = 32, NoResetOnClose = true },
}.Build());

// pgbench's variables become parameters; the statement is the file's, unchanged otherwise.
var statement = File.ReadAllText(builder.Configuration["Floor:Statement"]!).Replace(":account", "@account").Replace(":location", "@location");

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapPost("/devices", async (CreateDevice request, IValidator<CreateDevice> validator, HttpContext http, NpgsqlDataSource data, CancellationToken cancellationToken) =>
{
    var validation = await validator.ValidateAsync(request, cancellationToken);
    if (!validation.IsValid)
    {
        return Results.BadRequest();
    }

    var account = http.User.FindFirst("account_id")!.Value;
    await using var command = data.CreateCommand(statement);
    command.Parameters.AddWithValue("account", account);
    command.Parameters.AddWithValue("location", request.Locations[0]);
    var missing = await command.ExecuteScalarAsync(cancellationToken);
    if (missing is not DBNull)
    {
        return Results.BadRequest();
    }

    var device = new Device($"dev_{Guid.NewGuid():N}"[..28], "device", false, account, request.ReferenceId, request.Type, request.Locations, request.Manufacturer,
        request.ModelCode, request.ModelName, request.Properties, DateTimeOffset.UtcNow);
    return Results.Created($"/devices/{device.Id}", device);
}).RequireAuthorization();
app.Run();

internal sealed record DeviceProperties(double? PowerRatingImportKwh, double? CapacityKwh, double? PowerRatingExportKwh, double? PvAzimuth,
    double? PvTilt, bool? PvTerrainShading, bool? PvForecastsEnabled, DateTimeOffset? InstallDate);

internal sealed record CreateDevice(string ReferenceId, string Type, string[] Locations, string? Manufacturer, string? ModelCode, string? ModelName,
    DeviceProperties? Properties);

internal sealed record Device(string Id, string Object, bool LiveMode, string AccountId, string ReferenceId, string Type, string[] Locations,
    string? Manufacturer, string? ModelCode, string? ModelName, DeviceProperties? Properties, DateTimeOffset TimeCreated);

internal sealed class CreateDeviceValidator : AbstractValidator<CreateDevice>
{
    private static readonly string[] Types = ["EV_CHARGER", "ELECTRIC_VEHICLE", "BATTERY_SYSTEM", "PV_SYSTEM", "OTHER"];

    public CreateDeviceValidator()
    {
        RuleFor(d => d.ReferenceId).NotEmpty().MaximumLength(255);
        RuleFor(d => d.Type).Must(t => Types.Contains(t));
        RuleFor(d => d.Locations).NotEmpty().Must(l => l.Length <= 10);
        RuleForEach(d => d.Locations).NotEmpty().MaximumLength(28);
        RuleFor(d => d.Manufacturer).MaximumLength(255);
        RuleFor(d => d.ModelCode).MaximumLength(255);
        RuleFor(d => d.ModelName).MaximumLength(255);
        RuleFor(d => d.Properties!.PvAzimuth).InclusiveBetween(0, 360).When(d => d.Properties is not null);
        RuleFor(d => d.Properties!.PvTilt).InclusiveBetween(0, 90).When(d => d.Properties is not null);
        RuleFor(d => d.Properties!.CapacityKwh).GreaterThanOrEqualTo(0).When(d => d.Properties is not null);
    }
}

[JsonSerializable(typeof(CreateDevice))]
[JsonSerializable(typeof(Device))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class FloorJson : JsonSerializerContext;
