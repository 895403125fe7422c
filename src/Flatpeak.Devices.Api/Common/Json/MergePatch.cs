using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Flatpeak.Devices.Api.Common.Json;

/// <summary>JSON merge patch (RFC 7396), and the writable part of a stored object that a patch is merged into.</summary>
public static class MergePatch
{
    /// <summary>Merges <paramref name="patch"/> into <paramref name="target"/> in place: objects member by member, <c>null</c> removes, anything else replaces.</summary>
    public static JsonObject Apply(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject nested)
            {
                var existing = target[name] as JsonObject;
                if (existing is null)
                {
                    existing = [];
                    target[name] = existing;
                }

                Apply(existing, nested);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }

        return target;
    }

    /// <summary>
    /// The object as a client would send it: its response JSON cut down to the properties of the request type (so the
    /// server-owned ones — id, object, account_id, live_mode, time_created… — are left out).
    /// </summary>
    public static JsonObject Writable<TResponse, TRequest>(TResponse response, JsonTypeInfo<TResponse> responseType, JsonTypeInfo<TRequest> requestType)
    {
        var all = JsonSerializer.SerializeToNode(response, responseType)!.AsObject();
        var writable = new JsonObject();
        foreach (var property in requestType.Properties)
        {
            if (all.TryGetPropertyValue(property.Name, out var value))
            {
                writable[property.Name] = value?.DeepClone();
            }
        }

        return writable;
    }

    /// <summary>Whether a JSON path such as <c>properties.pv_tilt</c> or <c>locations[1]</c> names a member the patch has (null or not).</summary>
    public static bool Sends(JsonObject patch, string path)
    {
        JsonNode? node = patch;
        foreach (var segment in path.Split('.'))
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(name, out node))
            {
                return false;
            }
        }

        return true;
    }
}
