"""The HTML medium: rendered LaTeX fragments as HTML with MathML, TikZ figures as SVG."""
