//! Where the service map draws its nodes: a layered layout with callers on the left.
//!
//! The layout is the classic layered one, in four steps:
//!
//! 1. Cycles are broken by a depth-first walk that turns round every call back to a node still
//!    on the walk's stack; afterwards every call runs from a node that finished later to one that
//!    finished earlier, so no cycle is left. Self-loops say nothing about left and right and are
//!    left out.
//! 2. Each node's layer is the length of the longest chain of calls leading to it, so every call
//!    goes rightwards and callers that nobody calls (and nodes with no calls at all) are in
//!    layer 0.
//! 3. A call across several layers is given a placeholder in each layer it crosses, so that
//!    ordering sees it; the order within each layer then comes from a few barycenter sweeps,
//!    right then left, keeping the order with the fewest crossings seen.
//! 4. Boxes of one fixed size go in columns, one column per layer, each column centred
//!    vertically.
//!
//! Ties are broken by node name and the input is sorted first, so the same map gives the same
//! picture whatever order its nodes and calls come in. Nothing here recurses: the walk keeps its
//! own stack, so a chain of any length is fine.

use std::collections::BTreeSet;

/// The width of a node's box.
pub const NODE_WIDTH: f64 = 160.0;
/// The height of a node's box.
pub const NODE_HEIGHT: f64 = 48.0;
/// The horizontal space between two columns, where the calls are drawn with their rate,
/// failures and latency written along them.
pub const LAYER_GAP: f64 = 240.0;
/// The vertical space between two boxes in one column.
pub const ROW_GAP: f64 = 24.0;

/// Enough for the small maps drawn here; each sweep keeps the best order so far, so more would
/// seldom help.
const SWEEPS: usize = 8;

/// Where each node of a call graph is drawn.
///
/// Coordinates are in the same units as [`NODE_WIDTH`], with the origin at the top left and no
/// margin: the boxes touch the edges of `width` by `height`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLayout {
    /// Every node once, by layer and then top to bottom.
    pub nodes: Vec<NodePlace>,
    pub width: f64,
    pub height: f64,
}

/// Where one node is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePlace {
    pub name: String,
    /// The column, counted from 0 on the left.
    pub layer: u32,
    /// The row within the column, counted from 0 at the top.
    pub order: u32,
    /// The left edge of the node's box.
    pub x: f64,
    /// The top edge of the node's box.
    pub y: f64,
}

impl MapLayout {
    /// Where the node called `name` is drawn, if it is on the map.
    pub fn place(&self, name: &str) -> Option<&NodePlace> {
        self.nodes.iter().find(|place| place.name == name)
    }
}

/// Lays out a call graph: `nodes` by name, and `edges` as calls from source to target.
///
/// A node named only in `edges` is placed too; repeated nodes and calls count once.
pub fn lay_out(nodes: &[&str], edges: &[(&str, &str)]) -> MapLayout {
    let names: Vec<&str> = nodes
        .iter()
        .copied()
        .chain(edges.iter().flat_map(|&(from, to)| [from, to]))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index_of = |name: &str| names.binary_search(&name).ok();
    let calls: Vec<(usize, usize)> = edges
        .iter()
        .filter_map(|&(from, to)| Some((index_of(from)?, index_of(to)?)))
        .filter(|(from, to)| from != to)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let (acyclic, finish_order) = break_cycles(names.len(), &calls);
    let layer = longest_path_layers(names.len(), &acyclic, &finish_order);
    let graph = LayeredGraph::new(&layer, &acyclic);
    let layers = graph.ordered();
    place(&names, &layers)
}

/// The calls with every call back up the walk turned round, and the nodes in the order the walk
/// finished them.
///
/// The walk starts from nodes that nobody calls, so a cycle is cut at the call leading back
/// towards the entry point, and the entry point stays on the left.
fn break_cycles(count: usize, calls: &[(usize, usize)]) -> (Vec<(usize, usize)>, Vec<usize>) {
    // `calls` is sorted, so each node's callees come out sorted by name.
    let mut callees = vec![Vec::new(); count];
    let mut called = vec![false; count];
    for &(from, to) in calls {
        callees[from].push(to);
        called[to] = true;
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Visit {
        New,
        OnStack,
        Done,
    }
    let mut visit = vec![Visit::New; count];
    let mut finish_order = Vec::with_capacity(count);
    let mut acyclic = BTreeSet::new();
    let starts = (0..count)
        .filter(|&node| !called[node])
        .chain((0..count).filter(|&node| called[node]));
    // Each frame is a node and how many of its callees it has looked at.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in starts {
        if visit[start] != Visit::New {
            continue;
        }
        visit[start] = Visit::OnStack;
        stack.push((start, 0));
        while let Some(frame) = stack.last_mut() {
            let (node, next) = *frame;
            let Some(&callee) = callees[node].get(next) else {
                visit[node] = Visit::Done;
                finish_order.push(node);
                stack.pop();
                continue;
            };
            frame.1 += 1;
            match visit[callee] {
                Visit::OnStack => {
                    acyclic.insert((callee, node));
                }
                Visit::New => {
                    acyclic.insert((node, callee));
                    visit[callee] = Visit::OnStack;
                    stack.push((callee, 0));
                }
                Visit::Done => {
                    acyclic.insert((node, callee));
                }
            }
        }
    }
    (acyclic.into_iter().collect(), finish_order)
}

/// The layer of each node: the number of calls on the longest chain leading to it.
fn longest_path_layers(count: usize, acyclic: &[(usize, usize)], finish_order: &[usize]) -> Vec<usize> {
    let mut callees = vec![Vec::new(); count];
    for &(from, to) in acyclic {
        callees[from].push(to);
    }
    let mut layer = vec![0; count];
    // Every call goes from a later finisher to an earlier one, so the reverse finish order
    // settles each node's callers before the node itself.
    for &node in finish_order.iter().rev() {
        for &callee in &callees[node] {
            layer[callee] = layer[callee].max(layer[node] + 1);
        }
    }
    layer
}

/// The nodes and, for each call across several layers, a placeholder per layer crossed, with
/// links only between neighbouring layers.
///
/// Vertices `0..count` are the nodes, by name; placeholders follow in the order of the sorted
/// calls, so a vertex's index is a tie-break that does not depend on the input order.
struct LayeredGraph {
    layer: Vec<usize>,
    /// The linked vertices in the layer to the left of each vertex.
    left: Vec<Vec<usize>>,
    /// The linked vertices in the layer to the right of each vertex.
    right: Vec<Vec<usize>>,
}

impl LayeredGraph {
    fn new(node_layer: &[usize], acyclic: &[(usize, usize)]) -> Self {
        let mut graph = Self {
            layer: node_layer.to_vec(),
            left: vec![Vec::new(); node_layer.len()],
            right: vec![Vec::new(); node_layer.len()],
        };
        for &(from, to) in acyclic {
            let mut previous = from;
            for crossed in node_layer[from] + 1..node_layer[to] {
                let placeholder = graph.layer.len();
                graph.layer.push(crossed);
                graph.left.push(Vec::new());
                graph.right.push(Vec::new());
                graph.link(previous, placeholder);
                previous = placeholder;
            }
            graph.link(previous, to);
        }
        graph
    }

    fn link(&mut self, from: usize, to: usize) {
        self.right[from].push(to);
        self.left[to].push(from);
    }

    /// The vertices of each layer, top to bottom, with few crossings.
    fn ordered(&self) -> Vec<Vec<usize>> {
        let depth = self.layer.iter().max().map_or(0, |last| last + 1);
        let mut layers = vec![Vec::new(); depth];
        // Vertex order, that is by name and then placeholders, is the starting order.
        for (vertex, &layer) in self.layer.iter().enumerate() {
            layers[layer].push(vertex);
        }
        let mut position = vec![0; self.layer.len()];
        for layer in &layers {
            for (at, &vertex) in layer.iter().enumerate() {
                position[vertex] = at;
            }
        }

        let mut best = layers.clone();
        let mut fewest = self.crossings(&layers, &position);
        for _ in 0..SWEEPS {
            if fewest == 0 {
                break;
            }
            for layer in layers.iter_mut().skip(1) {
                reorder(layer, &mut position, &self.left);
            }
            let crossings = self.crossings(&layers, &position);
            if crossings < fewest {
                fewest = crossings;
                best.clone_from(&layers);
            }
            for layer in layers.iter_mut().rev().skip(1) {
                reorder(layer, &mut position, &self.right);
            }
            let crossings = self.crossings(&layers, &position);
            if crossings < fewest {
                fewest = crossings;
                best.clone_from(&layers);
            }
        }
        best
    }

    /// How many pairs of links cross, over all pairs of neighbouring layers.
    fn crossings(&self, layers: &[Vec<usize>], position: &[usize]) -> usize {
        let mut total = 0;
        for pair in layers.windows(2) {
            let [here, next] = pair else { continue };
            let mut links: Vec<(usize, usize)> = here
                .iter()
                .flat_map(|&from| {
                    self.right[from]
                        .iter()
                        .map(move |&to| (position[from], position[to]))
                })
                .collect();
            links.sort_unstable();
            // Taken left end first, a link crosses every earlier one whose right end is lower;
            // a Fenwick tree over right ends counts those without comparing every pair.
            let mut seen = vec![0_usize; next.len() + 1];
            for (taken, &(_, to)) in links.iter().enumerate() {
                let mut at_or_above = 0;
                let mut index = to + 1;
                while index > 0 {
                    at_or_above += seen[index];
                    index &= index - 1;
                }
                total += taken - at_or_above;
                let mut index = to + 1;
                while index < seen.len() {
                    seen[index] += 1;
                    index += index & index.wrapping_neg();
                }
            }
        }
        total
    }
}

/// Sorts one layer by the mean position of each vertex's links into the neighbouring layer.
///
/// A vertex with no links there keeps its own position as its weight, so it stays roughly where
/// it was instead of being swept to the top.
fn reorder(layer: &mut [usize], position: &mut [usize], links: &[Vec<usize>]) {
    let mut weighted: Vec<(f64, usize)> = layer
        .iter()
        .map(|&vertex| {
            let linked = &links[vertex];
            let weight = if linked.is_empty() {
                position[vertex] as f64
            } else {
                linked.iter().map(|&other| position[other] as f64).sum::<f64>() / linked.len() as f64
            };
            (weight, vertex)
        })
        .collect();
    weighted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (at, (slot, (_, vertex))) in layer.iter_mut().zip(weighted).enumerate() {
        *slot = vertex;
        position[vertex] = at;
    }
}

/// Boxes for the nodes, column by column; placeholders only kept the order and take no room.
fn place(names: &[&str], layers: &[Vec<usize>]) -> MapLayout {
    let columns: Vec<Vec<usize>> = layers
        .iter()
        .map(|layer| {
            layer
                .iter()
                .copied()
                .filter(|&vertex| vertex < names.len())
                .collect()
        })
        .collect();
    let span = |count: usize, size: f64, gap: f64| {
        if count == 0 {
            0.0
        } else {
            count as f64 * size + (count - 1) as f64 * gap
        }
    };
    let width = span(columns.len(), NODE_WIDTH, LAYER_GAP);
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let height = span(tallest, NODE_HEIGHT, ROW_GAP);

    let mut nodes = Vec::with_capacity(names.len());
    for (layer, column) in columns.iter().enumerate() {
        let x = layer as f64 * (NODE_WIDTH + LAYER_GAP);
        let top = (height - span(column.len(), NODE_HEIGHT, ROW_GAP)) / 2.0;
        for (order, &node) in column.iter().enumerate() {
            nodes.push(NodePlace {
                name: names[node].to_owned(),
                layer: layer as u32,
                order: order as u32,
                x,
                y: top + order as f64 * (NODE_HEIGHT + ROW_GAP),
            });
        }
    }
    MapLayout { nodes, width, height }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes and calls.
    type Graph<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

    const CLINIC_NODES: [&str; 8] = [
        "web",
        "login-api",
        "registration-api",
        "appointments-api",
        "worker",
        "DynamoDB",
        "SQS",
        "unused-queue",
    ];
    const CLINIC_EDGES: [(&str, &str); 7] = [
        ("web", "login-api"),
        ("login-api", "DynamoDB"),
        ("web", "registration-api"),
        ("registration-api", "DynamoDB"),
        ("registration-api", "SQS"),
        ("worker", "SQS"),
        ("appointments-api", "DynamoDB"),
    ];

    fn layers_of(layout: &MapLayout) -> Vec<(&str, u32)> {
        let mut layers: Vec<(&str, u32)> = layout
            .nodes
            .iter()
            .map(|place| (place.name.as_str(), place.layer))
            .collect();
        layers.sort_unstable();
        layers
    }

    fn place<'a>(layout: &'a MapLayout, name: &str) -> &'a NodePlace {
        layout
            .place(name)
            .unwrap_or_else(|| panic!("{name} is not placed"))
    }

    /// Pairs of calls between neighbouring columns whose lines cross.
    fn crossings(layout: &MapLayout, edges: &[(&str, &str)]) -> usize {
        let ends: Vec<(&NodePlace, &NodePlace)> = edges
            .iter()
            .map(|&(from, to)| (place(layout, from), place(layout, to)))
            .collect();
        let mut count = 0;
        for (i, (a_from, a_to)) in ends.iter().enumerate() {
            for (b_from, b_to) in &ends[i + 1..] {
                let same_columns = a_from.layer == b_from.layer && a_to.layer == b_to.layer;
                if same_columns && (a_from.y - b_from.y) * (a_to.y - b_to.y) < 0.0 {
                    count += 1;
                }
            }
        }
        count
    }

    /// The same columns with each one's rows in name order, as before any sweep.
    fn by_name(layout: &MapLayout) -> MapLayout {
        let mut sorted = layout.clone();
        for layer in 0..=layout.nodes.iter().map(|place| place.layer).max().unwrap_or(0) {
            let mut column: Vec<&mut NodePlace> = sorted
                .nodes
                .iter_mut()
                .filter(|place| place.layer == layer)
                .collect();
            let mut rows: Vec<f64> = column.iter().map(|place| place.y).collect();
            rows.sort_by(f64::total_cmp);
            column.sort_by(|a, b| a.name.cmp(&b.name));
            for (place, y) in column.into_iter().zip(rows) {
                place.y = y;
            }
        }
        sorted
    }

    /// Every node once, boxes inside the layout and clear of each other, rows and columns
    /// matching the coordinates.
    fn assert_sound(layout: &MapLayout, nodes: &[&str], edges: &[(&str, &str)]) {
        let mut expected: Vec<&str> = nodes
            .iter()
            .copied()
            .chain(edges.iter().flat_map(|&(a, b)| [a, b]))
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let mut placed: Vec<&str> = layout.nodes.iter().map(|place| place.name.as_str()).collect();
        placed.sort_unstable();
        assert_eq!(placed, expected, "every node is placed exactly once");

        for (i, a) in layout.nodes.iter().enumerate() {
            assert!(
                a.x >= 0.0 && a.x + NODE_WIDTH <= layout.width,
                "{} fits across",
                a.name
            );
            assert!(
                a.y >= 0.0 && a.y + NODE_HEIGHT <= layout.height,
                "{} fits down",
                a.name
            );
            assert_eq!(
                a.x,
                f64::from(a.layer) * (NODE_WIDTH + LAYER_GAP),
                "{} column",
                a.name
            );
            for b in &layout.nodes[i + 1..] {
                let apart_across = a.x + NODE_WIDTH <= b.x || b.x + NODE_WIDTH <= a.x;
                let apart_down = a.y + NODE_HEIGHT <= b.y || b.y + NODE_HEIGHT <= a.y;
                assert!(apart_across || apart_down, "{} and {} overlap", a.name, b.name);
                if a.layer == b.layer {
                    assert_eq!(a.order < b.order, a.y < b.y, "{} and {} rows", a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn layers_follow_the_calls() {
        type Case<'a> = (
            &'a str,
            &'a [&'a str],
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, u32)],
        );
        let cases: &[Case] = &[
            (
                "chain",
                &["a", "b", "c"],
                &[("a", "b"), ("b", "c")],
                &[("a", 0), ("b", 1), ("c", 2)],
            ),
            (
                "longest path wins",
                &[],
                &[("a", "b"), ("b", "c"), ("a", "c")],
                &[("a", 0), ("b", 1), ("c", 2)],
            ),
            (
                "isolated node",
                &["a", "b", "lonely"],
                &[("a", "b")],
                &[("a", 0), ("b", 1), ("lonely", 0)],
            ),
            (
                "self-loop ignored",
                &["a", "b"],
                &[("a", "a"), ("a", "b")],
                &[("a", 0), ("b", 1)],
            ),
            ("only a self-loop", &["a"], &[("a", "a")], &[("a", 0)]),
            (
                "nodes named only by calls",
                &[],
                &[("x", "y")],
                &[("x", 0), ("y", 1)],
            ),
            (
                "repeated calls",
                &["a", "a"],
                &[("a", "b"), ("a", "b")],
                &[("a", 0), ("b", 1)],
            ),
            (
                "entry point stays left of a cycle",
                &[],
                &[("web", "b-api"), ("b-api", "a-api"), ("a-api", "b-api")],
                &[("a-api", 2), ("b-api", 1), ("web", 0)],
            ),
            (
                "clinic",
                &CLINIC_NODES,
                &CLINIC_EDGES,
                &[
                    ("DynamoDB", 2),
                    ("SQS", 2),
                    ("appointments-api", 0),
                    ("login-api", 1),
                    ("registration-api", 1),
                    ("unused-queue", 0),
                    ("web", 0),
                    ("worker", 0),
                ],
            ),
        ];
        for (name, nodes, edges, expected) in cases {
            let layout = lay_out(nodes, edges);
            assert_sound(&layout, nodes, edges);
            assert_eq!(layers_of(&layout), *expected, "{name}");
        }
    }

    #[test]
    fn the_clinic_map_points_right_without_overlaps() {
        let layout = lay_out(&CLINIC_NODES, &CLINIC_EDGES);
        assert_sound(&layout, &CLINIC_NODES, &CLINIC_EDGES);
        for (from, to) in CLINIC_EDGES {
            assert!(
                place(&layout, from).x < place(&layout, to).x,
                "{from} -> {to} points right"
            );
        }
        assert_eq!(layout.width, 3.0 * NODE_WIDTH + 2.0 * LAYER_GAP);
        assert_eq!(layout.height, 4.0 * NODE_HEIGHT + 3.0 * ROW_GAP);
    }

    #[test]
    fn a_cycle_places_every_node_once() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(&'a str, u32)]);
        let cases: &[Case] = &[
            ("two nodes", &[("A", "B"), ("B", "A")], &[("A", 0), ("B", 1)]),
            (
                "three nodes",
                &[("A", "B"), ("B", "C"), ("C", "A")],
                &[("A", 0), ("B", 1), ("C", 2)],
            ),
            (
                "cycle with a self-loop",
                &[("A", "B"), ("B", "A"), ("B", "B")],
                &[("A", 0), ("B", 1)],
            ),
            (
                "two cycles sharing a node",
                &[("A", "B"), ("B", "A"), ("B", "C"), ("C", "D"), ("D", "B")],
                &[("A", 0), ("B", 1), ("C", 2), ("D", 3)],
            ),
        ];
        for (name, edges, expected) in cases {
            let layout = lay_out(&[], edges);
            assert_sound(&layout, &[], edges);
            assert_eq!(layers_of(&layout), *expected, "{name}");
            // A call turned round points left, but no call is drawn within one column.
            for (from, to) in edges.iter().filter(|(from, to)| from != to) {
                assert_ne!(place(&layout, from).layer, place(&layout, to).layer, "{name}");
            }
        }
    }

    #[test]
    fn barycenter_ordering_removes_crossings() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("swapped pair", &[("a", "y"), ("b", "x")]),
            ("reversed three", &[("a", "z"), ("b", "y"), ("c", "x")]),
            (
                "crossing in the second column",
                &[("a", "p"), ("b", "q"), ("p", "z"), ("q", "y")],
            ),
            (
                "long call around a column",
                &[("a", "m"), ("m", "z"), ("b", "z"), ("a", "n"), ("n", "y")],
            ),
            (
                "fan in and out",
                &[("a", "y"), ("a", "z"), ("b", "x"), ("c", "x"), ("c", "w")],
            ),
        ];
        for (name, edges) in cases {
            let layout = lay_out(&[], edges);
            assert_sound(&layout, &[], edges);
            assert!(crossings(&by_name(&layout), edges) > 0, "{name} crosses by name");
            assert_eq!(crossings(&layout, edges), 0, "{name}: {layout:#?}");
        }
    }

    #[test]
    fn input_order_does_not_change_the_layout() {
        let graphs: &[Graph] = &[
            (&CLINIC_NODES, &CLINIC_EDGES),
            (
                &["A", "B", "C", "D"],
                &[("A", "B"), ("B", "C"), ("C", "A"), ("C", "D"), ("D", "D")],
            ),
            (&[], &[("a", "z"), ("b", "y"), ("c", "x"), ("a", "x")]),
        ];
        for (nodes, edges) in graphs {
            let expected = lay_out(nodes, edges);
            for turn in 0..edges.len().max(nodes.len()) {
                let mut nodes = nodes.to_vec();
                let mut edges = edges.to_vec();
                nodes.reverse();
                edges.reverse();
                if !nodes.is_empty() {
                    let count = nodes.len();
                    nodes.rotate_left(turn % count);
                }
                if !edges.is_empty() {
                    let count = edges.len();
                    edges.rotate_left(turn % count);
                }
                assert_eq!(lay_out(&nodes, &edges), expected, "turn {turn}");
            }
        }
    }

    #[test]
    fn an_isolated_node_is_placed() {
        let cases: &[Graph] = &[(&["lonely"], &[]), (&["lonely", "a", "b"], &[("a", "b")])];
        for (nodes, edges) in cases {
            let layout = lay_out(nodes, edges);
            assert_sound(&layout, nodes, edges);
            assert_eq!(place(&layout, "lonely").layer, 0);
        }
        let alone = lay_out(&["lonely"], &[]);
        assert_eq!((alone.width, alone.height), (NODE_WIDTH, NODE_HEIGHT));
    }

    #[test]
    fn an_empty_map_has_no_size() {
        assert_eq!(
            lay_out(&[], &[]),
            MapLayout {
                nodes: Vec::new(),
                width: 0.0,
                height: 0.0
            }
        );
    }

    #[test]
    fn a_long_chain_lays_out_without_recursion() {
        let names: Vec<String> = (0..200).map(|i| format!("n{i:03}")).collect();
        let nodes: Vec<&str> = names.iter().map(String::as_str).collect();
        let chain: Vec<(&str, &str)> = nodes.windows(2).map(|pair| (pair[0], pair[1])).collect();
        let mut closed = chain.clone();
        closed.push((nodes[199], nodes[0]));
        for edges in [&chain, &closed] {
            let layout = lay_out(&nodes, edges);
            assert_eq!(layout.nodes.len(), 200);
            for (i, name) in nodes.iter().enumerate() {
                assert_eq!(place(&layout, name).layer, i as u32, "{name}");
            }
            assert_eq!(layout.height, NODE_HEIGHT);
        }
    }
}
