using System.Reflection;
using Microsoft.AspNetCore.Mvc;

namespace Flatpeak.Devices.Api.Common;

/// <summary>
/// Query strings are as strict as bodies: a parameter the endpoint does not take is <c>400 parameter_unknown</c>, and a
/// parameter given twice is <c>400 parameter_duplicate</c> (never joined into "a,b"). The parameters an endpoint takes
/// are the <c>[FromQuery]</c> names of its <c>[AsParameters]</c> record.
/// </summary>
public static class StrictQuery
{
    public static TBuilder WithStrictQuery<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesApiError(StatusCodes.Status400BadRequest).AddEndpointFilterFactory((factory, next) =>
        {
            var allowed = factory.MethodInfo.GetParameters()
                .Where(p => p.GetCustomAttribute<AsParametersAttribute>() is not null)
                .SelectMany(p => p.ParameterType.GetConstructors().Single().GetParameters())
                .Select(p => p.GetCustomAttribute<FromQueryAttribute>()?.Name)
                .OfType<string>()
                .ToHashSet(StringComparer.Ordinal);
            return invocation =>
            {
                var http = invocation.HttpContext;
                foreach (var (name, values) in http.Request.Query)
                {
                    if (!allowed.Contains(name))
                    {
                        var shown = Json.JsonErrors.Shorten(name);
                        return ValueTask.FromResult<object?>(ApiErrors.BadRequest(http, "parameter_unknown",
                            allowed.Count == 0
                                ? $"Received unknown parameter: {shown}. This operation takes no query parameters."
                                : $"Received unknown parameter: {shown}. This operation takes {string.Join(", ", allowed)}.",
                            shown));
                    }

                    if (values.Count > 1)
                    {
                        return ValueTask.FromResult<object?>(ApiErrors.BadRequest(http, "parameter_duplicate",
                            $"The parameter {name} appears more than once.", name));
                    }
                }

                return next(invocation);
            };
        });
}
