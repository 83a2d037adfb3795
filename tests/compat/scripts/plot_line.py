"""models-docs.md "Custom charts › wandb.plot.line" and "Log plots": a line chart from a
table, plus a custom chart with wandb.plot_table."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-plot")
data = [[x, x * x] for x in range(5)]
table = wandb.Table(data=data, columns=["x", "y"])
run.log({"my_custom_plot_id": wandb.plot.line(table, "x", "y", title="Custom Y vs X Line Plot")})
# Map from the table's columns to the chart's fields
fields = {"x": "x", "value": "y"}
# Use the table to populate the new custom chart preset
chart = wandb.plot_table(
    vega_spec_name="wandb/line/v0",
    data_table=table,
    fields=fields,
    string_fields={"title": "Height Histogram"},
)
run.log({"custom_chart": chart})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "tables": {"my_custom_plot_id": {"columns": ["x", "y"], "data": data}},
        }
    )
)
