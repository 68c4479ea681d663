"""One blueprint per area: auth, inbox, tasks, cases, batches, api."""
