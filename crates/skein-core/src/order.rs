//! Run order within one graph: a depth-first post-order from the graph's sinks, in the
//! spirit of `dask.order`. Each task comes right after the inputs it needs, and a branch is
//! finished before the next one starts, so inputs can be released early (in a tree
//! reduction, one subtree's leaves and their reducer run before the next subtree's leaves).
//! Iterative: graphs have a million tasks and chains as deep.

/// Edges of the new tasks of a graph, in compressed rows: the local (new) dependencies of
/// task `i` are `deps[start[i]..start[i + 1]]`.
pub(crate) struct LocalEdges<'a> {
    pub start: &'a [u32],
    pub deps: &'a [u32],
}

impl LocalEdges<'_> {
    fn of(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i] as usize..self.start[i + 1] as usize
    }
}

const WHITE: u8 = 0;
const GRAY: u8 = 1;
const BLACK: u8 = 2;

/// Post-order rank of each task (tasks with `active[i] == false` are skipped and get 0),
/// or `Err(i)` with a task `i` on a dependency cycle.
pub(crate) fn order_graph(active: &[bool], edges: &LocalEdges<'_>) -> Result<Vec<u32>, usize> {
    let n = active.len();
    let mut rank = vec![0u32; n];
    if edges.deps.is_empty() {
        // No edges among new tasks: input order is the order.
        for (next, (r, _)) in rank.iter_mut().zip(active).filter(|(_, &a)| a).enumerate() {
            *r = next as u32;
        }
        return Ok(rank);
    }
    let mut has_dependent = vec![false; n];
    for &d in edges.deps {
        has_dependent[d as usize] = true;
    }
    let mut color = vec![WHITE; n];
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut next = 0u32;
    let sinks = (0..n).filter(|&i| active[i] && !has_dependent[i]);
    // Anything not reached from a sink lies on or above a cycle; visiting it finds the cycle.
    let rest = 0..n;
    for root in sinks.chain(rest) {
        if !active[root] || color[root] != WHITE {
            continue;
        }
        color[root] = GRAY;
        stack.push((root as u32, edges.start[root]));
        while let Some(top) = stack.last_mut() {
            let node = top.0 as usize;
            if (top.1 as usize) < edges.of(node).end {
                let d = edges.deps[top.1 as usize] as usize;
                top.1 += 1;
                match color[d] {
                    WHITE => {
                        color[d] = GRAY;
                        stack.push((d as u32, edges.start[d]));
                    }
                    GRAY => return Err(d),
                    _ => {}
                }
            } else {
                color[node] = BLACK;
                rank[node] = next;
                next += 1;
                stack.pop();
            }
        }
    }
    Ok(rank)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csr(rows: &[&[u32]]) -> (Vec<u32>, Vec<u32>) {
        let mut start = vec![0];
        let mut deps = vec![];
        for r in rows {
            deps.extend_from_slice(r);
            start.push(deps.len() as u32);
        }
        (start, deps)
    }

    #[test]
    fn tree_reduction_finishes_a_subtree_before_starting_the_next() {
        // leaves 0..4, r01 = 4 (0,1), r23 = 5 (2,3), total = 6 (4,5)
        let (start, deps) = csr(&[&[], &[], &[], &[], &[0, 1], &[2, 3], &[4, 5]]);
        let rank = order_graph(
            &[true; 7],
            &LocalEdges {
                start: &start,
                deps: &deps,
            },
        )
        .unwrap();
        assert_eq!(rank, vec![0, 1, 3, 4, 2, 5, 6]);
    }

    #[test]
    fn finds_cycles_even_without_sinks() {
        let (start, deps) = csr(&[&[1], &[2], &[0]]);
        let e = order_graph(
            &[true; 3],
            &LocalEdges {
                start: &start,
                deps: &deps,
            },
        )
        .unwrap_err();
        assert!(e < 3);
        let (start, deps) = csr(&[&[], &[1]]);
        assert_eq!(
            order_graph(
                &[true; 2],
                &LocalEdges {
                    start: &start,
                    deps: &deps
                }
            ),
            Err(1)
        );
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let n = 200_000u32;
        let mut start = vec![0u32];
        let mut deps = vec![];
        for i in 0..n {
            if i > 0 {
                deps.push(i - 1);
            }
            start.push(deps.len() as u32);
        }
        let rank = order_graph(
            &vec![true; n as usize],
            &LocalEdges {
                start: &start,
                deps: &deps,
            },
        )
        .unwrap();
        assert_eq!(rank[0], 0);
        assert_eq!(rank[n as usize - 1], n - 1);
    }
}
