package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// ProductID is the id RocketFin gives its Stripe product, so that setup
// finds it again instead of making another.
const ProductID = "rocketfin_analysis"

// SetupOptions say what RocketFin sells.
type SetupOptions struct {
	// EventName of the meter (STRIPE_METER_EVENT_NAME).
	EventName string
	// UnitAmount is the price of one analysis in minor units of Currency.
	UnitAmount int64
	Currency   string
}

// SetupResult names the Stripe objects RocketFin bills with, and which of
// them setup created (the others it found).
type SetupResult struct {
	MeterID, ProductID, PriceID string
	Created                     []string
}

// LookupKey identifies RocketFin's metered price for an amount and meter.
func LookupKey(o SetupOptions, meterID string) string {
	return fmt.Sprintf("rocketfin_analysis_%s_%d_%s", strings.ToLower(o.Currency), o.UnitAmount, meterID)
}

// Setup finds or creates the Billing Meter (by event name), the product (by
// its fixed id) and the monthly metered price on that meter (by lookup
// key). Run again, it creates nothing.
func Setup(ctx context.Context, api *client.API, o SetupOptions) (SetupResult, error) {
	var res SetupResult
	meter, created, err := findOrCreateMeter(ctx, api, o.EventName)
	if err != nil {
		return res, err
	}
	res.MeterID = meter.ID
	if created {
		res.Created = append(res.Created, "meter")
	}

	pp := &stripe.ProductParams{}
	pp.Context = ctx
	product, err := api.Products.Get(ProductID, pp)
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == 404 {
		np := &stripe.ProductParams{ID: stripe.String(ProductID), Name: stripe.String("RocketFin credit analyses")}
		np.Context = ctx
		product, err = api.Products.New(np)
		res.Created = append(res.Created, "product")
	}
	if err != nil {
		return res, fmt.Errorf("find or create product %s: %w", ProductID, err)
	}
	res.ProductID = product.ID

	key := LookupKey(o, meter.ID)
	lp := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(key)}, Active: stripe.Bool(true)}
	lp.Context = ctx
	it := api.Prices.List(lp)
	for it.Next() {
		p := it.Price()
		if p.LookupKey == key && p.Recurring != nil && p.Recurring.Meter == meter.ID && p.UnitAmount == o.UnitAmount {
			res.PriceID = p.ID
			return res, nil
		}
	}
	if err := it.Err(); err != nil {
		return res, fmt.Errorf("look up price %s: %w", key, err)
	}
	np := &stripe.PriceParams{
		Product:    stripe.String(product.ID),
		Currency:   stripe.String(strings.ToLower(o.Currency)),
		UnitAmount: stripe.Int64(o.UnitAmount),
		LookupKey:  stripe.String(key),
		Nickname:   stripe.String("Per analysis, billed monthly"),
		Recurring: &stripe.PriceRecurringParams{
			Interval:  stripe.String(string(stripe.PriceRecurringIntervalMonth)),
			UsageType: stripe.String(string(stripe.PriceRecurringUsageTypeMetered)),
			Meter:     stripe.String(meter.ID),
		},
	}
	np.Context = ctx
	price, err := api.Prices.New(np)
	if err != nil {
		return res, fmt.Errorf("create price %s: %w", key, err)
	}
	res.PriceID = price.ID
	res.Created = append(res.Created, "price")
	return res, nil
}

func findOrCreateMeter(ctx context.Context, api *client.API, eventName string) (*stripe.BillingMeter, bool, error) {
	lp := &stripe.BillingMeterListParams{Status: stripe.String(string(stripe.BillingMeterStatusActive))}
	lp.Context = ctx
	it := api.BillingMeters.List(lp)
	for it.Next() {
		if m := it.BillingMeter(); m.EventName == eventName {
			return m, false, nil
		}
	}
	if err := it.Err(); err != nil {
		return nil, false, fmt.Errorf("list billing meters: %w", err)
	}
	p := &stripe.BillingMeterParams{
		DisplayName:        stripe.String("RocketFin analyses"),
		EventName:          stripe.String(eventName),
		DefaultAggregation: &stripe.BillingMeterDefaultAggregationParams{Formula: stripe.String(string(stripe.BillingMeterDefaultAggregationFormulaSum))},
		CustomerMapping: &stripe.BillingMeterCustomerMappingParams{
			EventPayloadKey: stripe.String("stripe_customer_id"), Type: stripe.String("by_id"),
		},
		ValueSettings: &stripe.BillingMeterValueSettingsParams{EventPayloadKey: stripe.String("value")},
	}
	p.Context = ctx
	m, err := api.BillingMeters.New(p)
	if err != nil {
		return nil, false, fmt.Errorf("create billing meter %s: %w", eventName, err)
	}
	return m, true, nil
}
