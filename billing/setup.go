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
// finds it again instead of making another; MonitoringProductID is monitoring's.
const (
	ProductID           = "rocketfin_analysis"
	MonitoringProductID = "rocketfin_monitoring"
)

// SetupOptions say what RocketFin sells.
type SetupOptions struct {
	// EventName of the meter (STRIPE_METER_EVENT_NAME).
	EventName string
	// UnitAmount is the price of one analysis in minor units of Currency.
	UnitAmount int64
	Currency   string
	// MonitoringEventName is the meter of monitored company days
	// (STRIPE_MONITORING_METER_EVENT_NAME); empty sets up analyses only.
	MonitoringEventName string
	// MonitoringUnitAmount is the price of one monitored company day in minor units of Currency.
	MonitoringUnitAmount int64
}

// SetupResult names the Stripe objects RocketFin bills with, and which of
// them setup created (the others it found).
type SetupResult struct {
	MeterID, ProductID, PriceID                               string
	MonitoringMeterID, MonitoringProductID, MonitoringPriceID string
	Created                                                   []string
}

// LookupKey identifies RocketFin's metered price for an amount and meter.
func LookupKey(o SetupOptions, meterID string) string {
	return fmt.Sprintf("rocketfin_analysis_%s_%d_%s", strings.ToLower(o.Currency), o.UnitAmount, meterID)
}

// MonitoringLookupKey identifies the monitored company day's price for an amount and meter.
func MonitoringLookupKey(o SetupOptions, meterID string) string {
	return fmt.Sprintf("rocketfin_monitoring_%s_%d_%s", strings.ToLower(o.Currency), o.MonitoringUnitAmount, meterID)
}

// metered is one thing RocketFin sells by a meter.
type metered struct {
	kind, eventName, meterName, productID, productName, key, nickname string
	amount                                                            int64
}

// Setup finds or creates, for analyses and for monitored company days, the Billing Meter (by event
// name), the product (by its fixed id) and the monthly metered price on that meter (by lookup
// key). Run again, it creates nothing.
func Setup(ctx context.Context, api *client.API, o SetupOptions) (SetupResult, error) {
	var res SetupResult
	one := func(m metered) (meterID, productID, priceID string, err error) {
		meter, created, err := findOrCreateMeter(ctx, api, m.eventName, m.meterName)
		if err != nil {
			return "", "", "", err
		}
		if created {
			res.Created = append(res.Created, m.kind+"meter")
		}
		pp := &stripe.ProductParams{}
		pp.Context = ctx
		product, err := api.Products.Get(m.productID, pp)
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == 404 {
			np := &stripe.ProductParams{ID: stripe.String(m.productID), Name: stripe.String(m.productName)}
			np.Context = ctx
			product, err = api.Products.New(np)
			res.Created = append(res.Created, m.kind+"product")
		}
		if err != nil {
			return "", "", "", fmt.Errorf("find or create product %s: %w", m.productID, err)
		}
		key := m.key + meter.ID
		lp := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(key)}, Active: stripe.Bool(true)}
		lp.Context = ctx
		it := api.Prices.List(lp)
		for it.Next() {
			p := it.Price()
			if p.LookupKey == key && p.Recurring != nil && p.Recurring.Meter == meter.ID && p.UnitAmount == m.amount {
				return meter.ID, product.ID, p.ID, nil
			}
		}
		if err := it.Err(); err != nil {
			return "", "", "", fmt.Errorf("look up price %s: %w", key, err)
		}
		np := &stripe.PriceParams{
			Product:    stripe.String(product.ID),
			Currency:   stripe.String(strings.ToLower(o.Currency)),
			UnitAmount: stripe.Int64(m.amount),
			LookupKey:  stripe.String(key),
			Nickname:   stripe.String(m.nickname),
			Recurring: &stripe.PriceRecurringParams{
				Interval:  stripe.String(string(stripe.PriceRecurringIntervalMonth)),
				UsageType: stripe.String(string(stripe.PriceRecurringUsageTypeMetered)),
				Meter:     stripe.String(meter.ID),
			},
		}
		np.Context = ctx
		price, err := api.Prices.New(np)
		if err != nil {
			return "", "", "", fmt.Errorf("create price %s: %w", key, err)
		}
		res.Created = append(res.Created, m.kind+"price")
		return meter.ID, product.ID, price.ID, nil
	}
	var err error
	res.MeterID, res.ProductID, res.PriceID, err = one(metered{eventName: o.EventName, meterName: "RocketFin analyses",
		productID: ProductID, productName: "RocketFin credit analyses", key: LookupKey(o, ""),
		nickname: "Per analysis, billed monthly", amount: o.UnitAmount})
	if err != nil || o.MonitoringEventName == "" {
		return res, err
	}
	res.MonitoringMeterID, res.MonitoringProductID, res.MonitoringPriceID, err = one(metered{kind: "monitoring ",
		eventName: o.MonitoringEventName, meterName: "RocketFin monitored company days", productID: MonitoringProductID,
		productName: "RocketFin monitoring", key: MonitoringLookupKey(o, ""), nickname: "Per monitored company and day, billed monthly",
		amount: o.MonitoringUnitAmount})
	return res, err
}

func findOrCreateMeter(ctx context.Context, api *client.API, eventName, displayName string) (*stripe.BillingMeter, bool, error) {
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
		DisplayName:        stripe.String(displayName),
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
