"""Jobs and their stages: the state machine the workers, the sweeper and the console share."""
