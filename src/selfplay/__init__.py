"""Self-play: the rule table (``rules``) and the e-graph environment (``egraph``); the
trajectory runner comes with the self-play loop issue."""
