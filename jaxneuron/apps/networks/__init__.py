"""Networks built with `jaxneuron.network` for the workflows and benchmarks: the COBA
benchmark network (`coba`), the recurrent and Izhikevich demo circuits (`circuits`) and
the driven branching network tuned to criticality (`tuning`)."""
