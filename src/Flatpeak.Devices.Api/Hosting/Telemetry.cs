using Npgsql;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Flatpeak.Devices.Api.Hosting;

/// <summary>Configuration section <c>OpenTelemetry</c>; telemetry is off unless <see cref="OtlpEndpoint"/> is set.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "OpenTelemetry";

    /// <summary>Where an OTLP collector listens, e.g. <c>http://otel-collector:4317</c> (gRPC) or <c>:4318</c> (HTTP).</summary>
    [System.ComponentModel.DataAnnotations.Url]
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>.</summary>
    [System.ComponentModel.DataAnnotations.AllowedValues("grpc", "http/protobuf")]
    public string Protocol { get; set; } = "grpc";

    /// <summary>How often metrics and batches of spans are sent.</summary>
    [System.ComponentModel.DataAnnotations.Range(100, 3_600_000)]
    public int ExportIntervalMilliseconds { get; set; } = 10_000;

    public string ServiceName { get; set; } = "flatpeak-devices";
}

/// <summary>
/// ASP.NET Core's and Npgsql's built-in metrics and traces, exported over OTLP: request rate, latency and errors
/// (<c>http.server.request.duration</c> by route and status), Kestrel connections, the connection pool
/// (<c>db.client.connections.*</c>), runtime counters, and a span per request and per database command.
/// </summary>
public static class Telemetry
{
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            return builder;
        }

        var protocol = options.Protocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        var endpoint = new Uri(options.OtlpEndpoint);
        // Over HTTP an endpoint set in code is used as it is: add each signal's path as OTLP defines it.
        Uri For(string signal) => protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(endpoint, signal) : endpoint;

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(Webhooks.WebhookMetrics.MeterName)
                .AddMeter(Data.Batching.WriteMetrics.MeterName)
                .AddMeter(Events.FeedHorizon.MeterName)
                .AddMeter("Npgsql")
                .AddOtlpExporter((exporter, reader) =>
                {
                    exporter.Endpoint = For("v1/metrics");
                    exporter.Protocol = protocol;
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMilliseconds;
                }))
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddNpgsql()
                .AddOtlpExporter(exporter =>
                {
                    exporter.Endpoint = For("v1/traces");
                    exporter.Protocol = protocol;
                    exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = options.ExportIntervalMilliseconds;
                }));
        return builder;
    }
}
