"""A sample institution's .HHYP and .profils, generated for `hphost sample`, `hphost demo`, tests and benches."""
