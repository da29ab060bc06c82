// Package bearer checks "Authorization: Bearer TOKEN" headers against a set
// of accepted tokens, in constant time, for opskit's HTTP APIs (the status
// page admin API, the alert inputs).
package bearer
