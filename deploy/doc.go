// Package deploy holds what runs RocketFin beyond one machine: the container image
// (Dockerfile), the Helm chart (helm/rocketfin) and the operator's runbook (README.md). Its tests
// render the chart with helm and check the manifests.
package deploy
