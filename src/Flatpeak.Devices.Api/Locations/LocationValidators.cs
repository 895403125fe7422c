using Flatpeak.Devices.Api.Common;
using FluentValidation;

namespace Flatpeak.Devices.Api.Locations;

public sealed class CreateLocationRequestValidator : AbstractValidator<CreateLocationRequest>
{
    public CreateLocationRequestValidator()
    {
        RuleLevelCascadeMode = CascadeMode.Stop;
        RuleFor(r => r.ReferenceId).OptionalIdentifier("reference_id");
        RuleFor(r => r.CustomerId).OptionalObjectId("customer_id", ObjectIds.Customer, "customer");
        RuleFor(r => r.PostalAddress).SetValidator(new PostalAddressValidator()!).When(r => r.PostalAddress is not null);
    }

    private sealed class PostalAddressValidator : AbstractValidator<PostalAddress>
    {
        public PostalAddressValidator()
        {
            RuleLevelCascadeMode = CascadeMode.Stop;
            RuleFor(a => a.AddressLine1).OptionalText("postal_address.address_line1");
            RuleFor(a => a.AddressLine2).OptionalText("postal_address.address_line2");
            RuleFor(a => a.City).OptionalText("postal_address.city");
            RuleFor(a => a.State).OptionalText("postal_address.state");
            RuleFor(a => a.PostCode).OptionalText("postal_address.post_code");
            RuleFor(a => a.CountryCode)
                .Must(CountryCodes.IsAssigned).When(a => a.CountryCode is not null)
                .WithErrorCode("country_code_invalid")
                .WithMessage("postal_address.country_code must be an ISO 3166-1 alpha-2 code in capitals, such as 'GB'.");
        }
    }
}

public sealed class LocationListQueryValidator : AbstractValidator<LocationListQuery>
{
    public LocationListQueryValidator()
    {
        this.AddPagingRules(ObjectIds.Location);
        RuleFor(q => q.ReferenceId).OptionalIdentifier("reference_id").OverridePropertyName("reference_id");
        RuleFor(q => q.CustomerId).OptionalObjectId("customer_id", ObjectIds.Customer, "customer").OverridePropertyName("customer_id");
    }
}
