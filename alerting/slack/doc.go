// Package slack posts alerts to a Slack or Mattermost incoming webhook.
//
//	n, err := slack.New(slack.Config{URL: "https://hooks.slack.com/services/T…/B…/…"})
//	err = n.Notify(ctx, alerts...)
//
// A message has a headline ("FIRING: 2 alert(s)", the escalation level,
// and the acknowledge link from alerting.DeliveryFrom(ctx).AckURL) and one
// attachment per alert, coloured by severity (red critical, amber
// warning, blue info, green resolved), with summary, description,
// runbook link and labels as fields. Only text and legacy attachments
// are used, which both Slack and Mattermost render; alert text is escaped
// so it cannot forge links or @-mentions.
//
// Outcomes as in package webhook: 2xx delivered; 408, 429, 5xx and
// network failures retryable; other answers wrap alerting.ErrPermanent.
// The webhook URL is a credential: it never appears in errors or logs.
//
// Not done: Slack's Web API (chat.postMessage, threads, updating a
// message on resolve), which needs a bot token.
package slack
