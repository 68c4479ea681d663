"""cadreflow's application core: every user action is a function here. No Flask, no HTTP."""
