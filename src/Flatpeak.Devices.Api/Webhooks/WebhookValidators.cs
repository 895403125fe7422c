using Flatpeak.Devices.Api.Auth;
using Flatpeak.Devices.Api.Common;
using Flatpeak.Devices.Api.Events;
using FluentValidation;

namespace Flatpeak.Devices.Api.Webhooks;

/// <summary>The limits of a webhook endpoint: the validator enforces them and the OpenAPI document states them.</summary>
public static class WebhookRules
{
    public const int MaxUrlLength = 2048;
    public const int MaxPerAccountAndMode = 16;
    public const int MaxErrorLength = 1024;
    public const string AllEvents = "*";
    public const string Enabled = "enabled";
    public const string Disabled = "disabled";
    public static readonly IReadOnlyList<string> Statuses = [Enabled, Disabled];

    /// <summary>What <c>enabled_events</c> may hold: every event type, or <c>*</c>.</summary>
    public static readonly IReadOnlyList<string> EventChoices = [AllEvents, .. EventTypes.All];

    /// <summary>Absolute http(s) URL without user info; live mode takes https only.</summary>
    public static bool IsAllowedUrl(string? url, bool liveMode) =>
        url is { Length: > 0 and <= MaxUrlLength } && url.All(c => c is > ' ' and < (char)127) &&
        Uri.TryCreate(url, UriKind.Absolute, out var uri) &&
        (uri.Scheme == Uri.UriSchemeHttps || (!liveMode && uri.Scheme == Uri.UriSchemeHttp)) &&
        uri.UserInfo.Length == 0 && uri.Host.Length > 0;

    /// <summary>
    /// Whether the URL's host can only be private: an address literal (in any of the forms a URL parser takes, such as
    /// <c>127.1</c>, <c>2130706433</c> or <c>0x7f000001</c>) that is not public, or <c>localhost</c> (RFC 6761). A name
    /// that resolves to a private address is refused when it is sent to: that check is the guard against DNS rebinding.
    /// </summary>
    public static bool NamesOnlyPrivateHosts(string url)
    {
        var host = new Uri(url).IdnHost.TrimEnd('.');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && !WebhookDestinations.IsPublic(address);
    }
}

public sealed class CreateWebhookRequestValidator : AbstractValidator<CreateWebhookRequest>
{
    public CreateWebhookRequestValidator(IHttpContextAccessor http, Microsoft.Extensions.Options.IOptions<WebhookOptions> options)
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(r => r.Url).NotNull().WithErrorCode("url_missing").WithMessage("url is required.")
            .Must(url => WebhookRules.IsAllowedUrl(url, LiveMode(http))).WithErrorCode("url_invalid")
            .WithMessage(_ => $"url must be an absolute {(LiveMode(http) ? "https" : "http or https")} URL of at most {WebhookRules.MaxUrlLength} characters, without user info.")
            .Must(url => options.Value.AllowPrivateNetworks || !WebhookRules.NamesOnlyPrivateHosts(url!)).WithErrorCode("url_invalid")
            .WithMessage("url names a loopback, private, link-local, unique-local, multicast or unspecified address; deliveries never go there.");
        RuleFor(r => r.EnabledEvents).NotNull().WithErrorCode("enabled_events_missing").WithMessage("enabled_events is required.")
            .Must(e => e!.Count >= 1 && e.All(t => t is not null && WebhookRules.EventChoices.Contains(t, StringComparer.Ordinal)) && e.Distinct().Count() == e.Count)
            .WithErrorCode("enabled_events_invalid")
            .WithMessage($"enabled_events must list distinct event types ({string.Join(", ", EventTypes.All)}) or [\"*\"].")
            .Must(e => !e!.Contains(WebhookRules.AllEvents) || e!.Count == 1).WithErrorCode("enabled_events_invalid")
            .WithMessage("enabled_events: \"*\" stands alone.");
        RuleFor(r => r.Description).OptionalText("description");
        RuleFor(r => r.Status).Must(s => s is null || WebhookRules.Statuses.Contains(s, StringComparer.Ordinal)).WithErrorCode("status_invalid")
            .WithMessage($"status must be one of {string.Join(", ", WebhookRules.Statuses)}.");
    }

    private static bool LiveMode(IHttpContextAccessor http) => http.HttpContext is { } context && Caller.From(context.User)?.LiveMode == true;
}

public sealed class WebhookListQueryValidator : AbstractValidator<WebhookListQuery>
{
    public WebhookListQueryValidator() => this.AddPagingRules(ObjectIds.Webhook);
}

public sealed class WebhookDeliveryListQueryValidator : AbstractValidator<WebhookDeliveryListQuery>
{
    public WebhookDeliveryListQueryValidator() => this.AddPagingRules(ObjectIds.WebhookDelivery);
}
