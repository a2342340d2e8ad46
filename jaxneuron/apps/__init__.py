"""Applications built on the jaxneuron library: the `jaxneuron` command line (`cli`) and
its workflows (`workflows`), the spiking digits classifier (`digits`), demo and benchmark
networks (`networks`) and the helpers of the benchmark scripts (`benchmarking`).

They import the library; the library never imports them (`import jaxneuron` loads none of
this), so the core stays light and free of task code."""
