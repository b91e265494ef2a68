// A layered ("Sugiyama-style") layout for the lineage graph, written for this page (no graph library):
//   1. break cycles (reverse DFS back edges), 2. layer = longest path from a source,
//   3. split edges that span several layers with dummy points, 4. order each layer by the barycenter of its
//   neighbours (alternating down/up sweeps) to cut crossings, 5. coordinates: layers left → right.

/**
 * @typedef {{id: string}} LayoutNodeIn
 * @typedef {{from: string, to: string}} LayoutEdgeIn  drawn direction: `from` (upstream) → `to` (downstream)
 * @typedef {{id: string, layer: number, order: number, x: number, y: number}} PlacedNode  x, y: top-left corner
 * @typedef {{from: string, to: string, points: [number, number][]}} RoutedEdge  from the source's right edge to the target's left edge
 * @typedef {{nodes: PlacedNode[], edges: RoutedEdge[], width: number, height: number}} Layout
 */

/**
 * @param {LayoutNodeIn[]} nodesIn
 * @param {LayoutEdgeIn[]} edgesIn
 * @param {{nodeWidth?: number, nodeHeight?: number, gapX?: number, gapY?: number, margin?: number, sweeps?: number}} [opts]
 * @returns {Layout}
 */
export function layoutGraph(nodesIn, edgesIn, opts = {}) {
  const { nodeWidth = 200, nodeHeight = 48, gapX = 90, gapY = 28, margin = 16, sweeps = 8 } = opts;
  const ids = [...new Set(nodesIn.map((n) => n.id))];
  const known = new Set(ids);
  // Keep one edge per ordered pair, drop self-loops and edges to unknown nodes.
  const seen = new Set();
  /** @type {LayoutEdgeIn[]} */
  const edges = [];
  for (const e of edgesIn) {
    const key = `${e.from}\u0000${e.to}`;
    if (e.from === e.to || !known.has(e.from) || !known.has(e.to) || seen.has(key)) continue;
    seen.add(key);
    edges.push({ from: e.from, to: e.to });
  }

  // 1. Cycles: an edge that closes a cycle in DFS order is laid out reversed (lineage should be acyclic; this
  //    only keeps a corrupt graph drawable).
  /** @type {Map<string, string[]>} */
  const out = new Map(ids.map((id) => [id, []]));
  for (const e of edges) out.get(e.from)?.push(e.to);
  /** @type {Map<string, number>} 1 = on stack, 2 = done */
  const mark = new Map();
  /** @type {Set<string>} */
  const reversed = new Set();
  for (const root of ids) {
    if (mark.has(root)) continue;
    /** @type {[string, number][]} */
    const stack = [[root, 0]];
    mark.set(root, 1);
    while (stack.length) {
      const top = /** @type {[string, number]} */ (stack[stack.length - 1]);
      const next = out.get(top[0])?.[top[1]];
      if (next === undefined) {
        mark.set(top[0], 2);
        stack.pop();
        continue;
      }
      top[1] += 1;
      const m = mark.get(next);
      if (m === 1) reversed.add(`${top[0]}\u0000${next}`);
      else if (m === undefined) {
        mark.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
  /** @type {LayoutEdgeIn[]} acyclic edges in layout direction */
  const dag = edges.map((e) => (reversed.has(`${e.from}\u0000${e.to}`) ? { from: e.to, to: e.from } : e));

  // 2. Layers: longest path from any source (Kahn's order).
  /** @type {Map<string, number>} */
  const indeg = new Map(ids.map((id) => [id, 0]));
  /** @type {Map<string, string[]>} */
  const succ = new Map(ids.map((id) => [id, []]));
  for (const e of dag) {
    succ.get(e.from)?.push(e.to);
    indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
  }
  /** @type {Map<string, number>} */
  const layer = new Map(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const id = /** @type {string} */ (queue[i]);
    for (const t of succ.get(id) ?? []) {
      layer.set(t, Math.max(layer.get(t) ?? 0, (layer.get(id) ?? 0) + 1));
      const d = (indeg.get(t) ?? 0) - 1;
      indeg.set(t, d);
      if (d === 0) queue.push(t);
    }
  }

  // 3. Dummy points on long edges, so they take part in ordering and are routed around nodes.
  /** @type {string[][]} */
  const layers = [];
  const put = (/** @type {string} */ id, /** @type {number} */ l) => {
    (layers[l] ??= []).push(id);
  };
  for (const id of ids) put(id, layer.get(id) ?? 0);
  /** @type {{from: string, to: string, chain: string[], flip: boolean}[]} */
  const chains = [];
  /** @type {[string, string][]} unit-length links between consecutive layers */
  const links = [];
  let dummyCount = 0;
  for (const [i, e] of dag.entries()) {
    const a = layer.get(e.from) ?? 0;
    const b = layer.get(e.to) ?? 0;
    const chain = [e.from];
    for (let l = a + 1; l < b; l++) {
      const d = `\u0000dummy${dummyCount++}`;
      put(d, l);
      chain.push(d);
    }
    chain.push(e.to);
    for (let k = 1; k < chain.length; k++)
      links.push([/** @type {string} */ (chain[k - 1]), /** @type {string} */ (chain[k])]);
    const orig = /** @type {LayoutEdgeIn} */ (edges[i]);
    chains.push({ from: orig.from, to: orig.to, chain, flip: orig.from !== e.from });
  }
  for (let l = 0; l < layers.length; l++) layers[l] ??= [];

  // 4. Crossing reduction: barycenter of neighbours in the layer above (down sweep) or below (up sweep).
  /** @type {Map<string, string[]>} */
  const up = new Map();
  /** @type {Map<string, string[]>} */
  const down = new Map();
  for (const [p, c] of links) {
    (down.get(p) ?? down.set(p, []).get(p))?.push(c);
    (up.get(c) ?? up.set(c, []).get(c))?.push(p);
  }
  /** @type {Map<string, number>} */
  const pos = new Map();
  const index = () => {
    for (const L of layers) L.forEach((id, i) => pos.set(id, i));
  };
  index();
  for (let s = 0; s < sweeps; s++) {
    const downward = s % 2 === 0;
    const order = downward
      ? layers.map((_, i) => i).slice(1)
      : layers
          .map((_, i) => i)
          .reverse()
          .slice(1);
    for (const l of order) {
      const L = /** @type {string[]} */ (layers[l]);
      const nb = downward ? up : down;
      /** @type {Map<string, number>} */
      const bary = new Map();
      for (const id of L) {
        const ns = nb.get(id) ?? [];
        bary.set(id, ns.length ? ns.reduce((sum, n) => sum + (pos.get(n) ?? 0), 0) / ns.length : (pos.get(id) ?? 0));
      }
      // Stable sort: nodes without neighbours keep their place relative to the others.
      L.sort((x, y) => (bary.get(x) ?? 0) - (bary.get(y) ?? 0));
      L.forEach((id, i) => pos.set(id, i));
    }
  }

  // 5. Coordinates: each layer is a column, centred on the tallest column; dummies take a thin slot.
  const dummyH = 8;
  const slot = (/** @type {string} */ id) => (id.startsWith('\u0000') ? dummyH : nodeHeight);
  const colHeight = (/** @type {string[]} */ L) =>
    L.reduce((sum, id) => sum + slot(id), 0) + Math.max(0, L.length - 1) * gapY;
  const tallest = Math.max(0, ...layers.map(colHeight));
  /** @type {Map<string, {x: number, y: number, layer: number, order: number}>} */
  const at = new Map();
  layers.forEach((L, l) => {
    let y = margin + (tallest - colHeight(L)) / 2;
    L.forEach((id, order) => {
      at.set(id, { x: margin + l * (nodeWidth + gapX), y, layer: l, order });
      y += slot(id) + gapY;
    });
  });

  /** @type {PlacedNode[]} */
  const nodes = ids.map((id) => {
    const p = /** @type {{x: number, y: number, layer: number, order: number}} */ (at.get(id));
    return { id, layer: p.layer, order: p.order, x: p.x, y: p.y };
  });
  /** @type {RoutedEdge[]} */
  const routed = chains.map(({ from, to, chain, flip }) => {
    /** @type {[number, number][]} */
    const points = chain.map((id, k) => {
      const p = /** @type {{x: number, y: number}} */ (at.get(id));
      if (id.startsWith('\u0000')) return [p.x + nodeWidth / 2, p.y + dummyH / 2];
      return [k === 0 ? p.x + nodeWidth : p.x, p.y + nodeHeight / 2];
    });
    return { from, to, points: flip ? points.reverse() : points };
  });
  return {
    nodes,
    edges: routed,
    width: margin * 2 + Math.max(1, layers.length) * nodeWidth + Math.max(0, layers.length - 1) * gapX,
    height: margin * 2 + Math.max(tallest, nodeHeight),
  };
}

/**
 * An SVG path through the points, with horizontal cubic curves between consecutive points.
 * @param {[number, number][]} points
 */
export function curvePath(points) {
  const [first, ...rest] = points;
  if (!first) return '';
  let d = `M${first[0].toFixed(1)},${first[1].toFixed(1)}`;
  let prev = first;
  for (const p of rest) {
    const mx = (prev[0] + p[0]) / 2;
    d += ` C${mx.toFixed(1)},${prev[1].toFixed(1)} ${mx.toFixed(1)},${p[1].toFixed(1)} ${p[0].toFixed(1)},${p[1].toFixed(1)}`;
    prev = p;
  }
  return d;
}
