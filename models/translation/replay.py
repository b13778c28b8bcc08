"""Beam search replayed step by step from the tree a finished search kept (no model call): the prefixes
alive at step t with their scores, and the hypotheses that had ended by then, set aside."""

from dataclasses import dataclass

from models.translation.beam_search import SearchResult, TreeNode, normalised_score


@dataclass(frozen=True)
class BeamRow:
    node: int  # id in the search tree
    tokens: list[int]  # the prefix's generated tokens
    log_prob: float
    score: float  # log P / length^α, what the search ranks finished hypotheses by
    step: int  # when it was made (its length)


def prefix(nodes: dict[int, TreeNode], node_id: int) -> list[int]:
    """The generated tokens from the root (the start token, left out) to `node_id`."""
    tokens = []
    while node_id in nodes and nodes[node_id].parent >= 0:
        tokens.append(nodes[node_id].token)
        node_id = nodes[node_id].parent
    return tokens[::-1]


def beams_at(search: SearchResult, step: int, length_penalty: float) -> tuple[list[BeamRow], list[BeamRow]]:
    """(the live prefixes kept at `step`, likeliest first; the hypotheses finished at or before `step`,
    best score first)."""
    nodes = {node.id: node for node in search.tree}

    def row(node: TreeNode) -> BeamRow:
        score = normalised_score(node.log_prob, node.step, length_penalty)
        return BeamRow(node.id, prefix(nodes, node.id), node.log_prob, score, node.step)

    live = [row(n) for n in search.tree if n.step == step and not n.finished and n.parent >= 0]
    finished = [row(n) for n in search.tree if n.finished and n.step <= step]
    return sorted(live, key=lambda r: -r.log_prob), sorted(finished, key=lambda r: -r.score)


def steps_taken(search: SearchResult) -> int:
    return max((node.step for node in search.tree), default=0)
