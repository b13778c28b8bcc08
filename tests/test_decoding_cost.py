"""A decoding step's cost to the host stays within its limits (issue 24): on a GPU every read back to the host
stalls the device, so each decoder reads back about once per step; operators per step stay near today's
count, so a change that adds work to every step shows up here. Counted on the CPU (bench/decoding.py)."""

import pytest
import torch

from bench.decoding import HostTraffic, decoders, step_cost

# Per decoder: (host reads, uploads, aten operators) per step at most. Reads beyond one per step are the
# result's own (hypotheses copied to the host once, at the end), spread over the steps; before the packed
# read a beam-5 step of the English->Spanish model made about 16 reads.
LIMITS = {
    "en->es greedy": (1.3, 1.3, 900),
    "en->es beam 5": (1.7, 4.0, 1100),
    "dates greedy": (1.4, 1.3, 460),
    "dates beam 5": (2.2, 3.4, 520),
    "char LSTM greedy": (1.05, 1.05, 130),
    "char LSTM sampling": (1.05, 1.05, 245),
    # One upload per step (the chosen token); the rest is transformers' cache setting up its 30 layers' keys and
    # values (60 empty tensors) at the first step, spread over 20 steps.
    "SmolLM2 greedy": (1.05, 4.1, 4500),
    "SmolLM2 sampling": (1.05, 4.1, 4600),
}


@pytest.fixture(scope="module")
def costs():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield {name: step_cost(decode) for name, decode in decoders().items()}
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_a_decoding_step_stays_within_its_host_traffic(costs, name):
    cost = costs[name]
    reads, uploads, operators = LIMITS[name]
    assert cost.steps >= 5, cost  # a real decoding, long enough for per-step figures to mean something
    assert cost.host_reads <= reads, cost
    assert cost.uploads <= uploads, cost
    assert cost.operators <= operators, cost


def test_the_counter_sees_each_kind_of_host_read():
    x = torch.arange(4.0)
    with HostTraffic() as traffic:
        x[0].item()
        x.tolist()
        float(x[1])
        bool(x[2] > 0)
        torch.tensor([1, 2])
    assert traffic.reads == 4 and traffic.uploads == 1, traffic.calls
