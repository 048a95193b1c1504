// Package httpx holds the HTTP pieces every RocketFin handler shares: the
// problem+json error writer, strict JSON decoding, request ids, structured
// request logs, panic recovery, Prometheus request metrics and list
// pagination. It knows no domain.
package httpx
