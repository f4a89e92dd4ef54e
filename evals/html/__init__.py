"""The pieces of the HTML report (evals.html_report): cells, slices, examples and plots, built from results."""
