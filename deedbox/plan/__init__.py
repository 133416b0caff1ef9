"""The offline plan: run the Pulumi program under the mock engine, record the resource graph,
evaluate the policy pack on it, diff two graphs, render text / JSON / Markdown / Mermaid."""
