// Placeholder until the date functions land.
