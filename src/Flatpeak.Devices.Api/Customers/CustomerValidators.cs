using Flatpeak.Devices.Api.Common;
using FluentValidation;

namespace Flatpeak.Devices.Api.Customers;

public sealed class CreateCustomerRequestValidator : AbstractValidator<CreateCustomerRequest>
{
    public CreateCustomerRequestValidator() => RuleFor(r => r.ReferenceId).OptionalIdentifier("reference_id");
}

public sealed class CustomerListQueryValidator : AbstractValidator<CustomerListQuery>
{
    public CustomerListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.Customer);
        RuleFor(q => q.ReferenceId).OptionalIdentifier("reference_id").OverridePropertyName("reference_id");
    }
}
