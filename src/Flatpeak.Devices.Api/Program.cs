using Flatpeak.Devices.Api.Accounts;
using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Common.Json;
using Flatpeak.Devices.Api.Customers;
using Flatpeak.Devices.Api.Data;
using Flatpeak.Devices.Api.Devices;
using Flatpeak.Devices.Api.DeviceStates;
using Flatpeak.Devices.Api.Events;
using Flatpeak.Devices.Api.Health;
using Flatpeak.Devices.Api.Hosting;
using Flatpeak.Devices.Api.Locations;
using Flatpeak.Devices.Api.OpenApi;
using Flatpeak.Devices.Api.Webhooks;

return await ServiceHost.RunAsync(
    args,
    builder =>
    {
        builder.AddOperatorCommands(args);
        builder.AddApiAuthentication();
        builder.AddHttpLimits();
        builder.AddTelemetry();
        builder.Services
            .AddServiceBasics()
            .AddApiJson()
            .AddApiErrors()
            .AddApiRateLimiting(builder.Configuration)
            .AddDevicesData(builder.Configuration)
            .AddApiDocumentation()
            .AddCustomers()
            .AddLocations()
            .AddDevices()
            .AddDeviceStates(builder.Configuration)
            .AddEvents(builder.Configuration)
            .AddWebhooks(builder.Configuration);
    },
    app =>
    {
        app.UseResponseHeaders();
        app.UseApiErrors();
        app.UseApiVersions();
        app.UseHeadAsGet();
        app.UseRouting();
        app.UseApiDocumentation();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRequestBodyLimit();
        app.UseRequestBudget();
        app.MapHealth();
        app.MapLogin();
        app.MapCustomers();
        app.MapLocations();
        app.MapDevices();
        app.MapDeviceStates();
        app.MapEvents();
        app.MapWebhooks();
    });
