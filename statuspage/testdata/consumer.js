// Reads a status page's JSON with statuspage.io, a Statuspage API client
// from npm that no one here wrote, and prints what it decoded.
// Usage: NODE_PATH=.../node_modules node consumer.js BASE_URL
const { Statuspage } = require("statuspage.io");

async function main() {
  const sp = new Statuspage("kctbh9vrtdwd");
  sp.setApiUrl(process.argv[2]);
  const summary = await sp.api.getSummary();
  const status = await sp.api.getStatus();
  const components = await sp.api.getComponents();
  const incidents = await sp.api.incidents.getAll();
  const unresolved = await sp.api.incidents.getUnresolved();
  const upcoming = await sp.api.scheduledMaintenances.getUpcoming();
  const out = {
    page: summary.page.name,
    pageID: summary.page.id,
    timeZone: summary.page.time_zone,
    indicator: summary.status.indicator,
    description: status.status.description,
    components: components.components.map((c) => [c.name, c.status, c.group, c.group_id]),
    summaryIncidents: summary.incidents.map((i) => [i.name, i.status, i.impact, i.incident_updates[0].body]),
    incidents: incidents.incidents.map((i) => [i.name, i.status, i.incident_updates.length, i.components.map((c) => c.name).join(",")]),
    unresolved: unresolved.incidents.map((i) => i.name),
    upcoming: upcoming.scheduled_maintenances.map((m) => [m.name, m.status, m.scheduled_for, m.scheduled_until]),
  };
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
