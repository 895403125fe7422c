using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Flatpeak.Devices.Api.Webhooks;

internal sealed class WebhookConfiguration : IEntityTypeConfiguration<Webhook>
{
    public void Configure(EntityTypeBuilder<Webhook> webhook)
    {
        webhook.ToTable("webhooks");
        webhook.HasKey(w => new { w.AccountId, w.LiveMode, w.Id });
        webhook.Property(w => w.Id).UseCollation("C");
        webhook.Property(w => w.AccountId).UseCollation("C");
        webhook.Property(w => w.Url).HasMaxLength(WebhookRules.MaxUrlLength);
        webhook.Property(w => w.Status).HasMaxLength(16);
    }
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> delivery)
    {
        delivery.ToTable("webhook_deliveries");
        delivery.HasKey(d => new { d.AccountId, d.LiveMode, d.Id });
        delivery.Property(d => d.Id).UseCollation("C");
        delivery.Property(d => d.AccountId).UseCollation("C");
        delivery.Property(d => d.WebhookId).UseCollation("C");
        delivery.Property(d => d.EventId).UseCollation("C");
        delivery.Property(d => d.Status).HasMaxLength(16);
        delivery.Property(d => d.LastError).HasMaxLength(WebhookRules.MaxErrorLength);
        // One delivery per event and endpoint, however often (and by however many instances) the feed is read.
        delivery.HasIndex(d => new { d.AccountId, d.LiveMode, d.WebhookId, d.EventId }).IsUnique();
        // The endpoint's deliveries, newest first.
        delivery.HasIndex(d => new { d.AccountId, d.LiveMode, d.WebhookId, d.Id });
        // The queue: due attempts.
        delivery.HasIndex(d => d.NextAttemptAt).HasFilter("status = 'pending'");
    }
}

internal sealed class WebhookFeedPositionConfiguration : IEntityTypeConfiguration<WebhookFeedPosition>
{
    public void Configure(EntityTypeBuilder<WebhookFeedPosition> position)
    {
        position.ToTable("webhook_feed_positions");
        position.HasKey(p => new { p.AccountId, p.LiveMode });
        position.Property(p => p.AccountId).UseCollation("C");
        position.Property(p => p.TransactionId).HasColumnName("xact_id");
        position.Property(p => p.EventId).UseCollation("C");
    }
}
