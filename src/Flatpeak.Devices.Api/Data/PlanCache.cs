namespace Flatpeak.Devices.Api.Data;

/// <summary>Statements about how PostgreSQL plans the statements that follow them.</summary>
public static class PlanCache
{
    /// <summary>
    /// Makes the prepared statements of the current transaction run on their generic plan, planned once, rather than
    /// be planned afresh for their parameters each time (which PostgreSQL keeps doing when the generic plan's estimate
    /// looks dearer). Sent in the same transaction, ahead of the statement it is for; through a pooler, where nothing is
    /// prepared, it changes nothing.
    /// </summary>
    public const string ForceGenericPlan = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)";
}
