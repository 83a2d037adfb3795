"""models-docs.md "Custom charts › Builtin charts" and "Log media › HTML": scatter, bar,
histogram, line_series, pr_curve, roc_curve and confusion_matrix presets, and wandb.Html
from a string and from a file."""

import json

import trackwell as wandb

run = wandb.init(project="cfm-plots")
class_x_scores, class_y_scores = [0.1, 0.5, 0.9], [0.2, 0.4, 0.8]
data = [[x, y] for (x, y) in zip(class_x_scores, class_y_scores)]  # noqa: B905  (the docs' code)
table = wandb.Table(data=data, columns=["class_x", "class_y"])
wandb.log({"my_custom_id": wandb.plot.scatter(table, "class_x", "class_y")})

labels, values = ["a", "b"], [3, 5]
data = [[label, val] for (label, val) in zip(labels, values)]  # noqa: B905
table = wandb.Table(data=data, columns=["label", "value"])
wandb.log({"my_bar_chart_id": wandb.plot.bar(table, "label", "value", title="Custom Bar Chart")})

scores = [0.1, 0.4, 0.4, 0.9]
table = wandb.Table(data=[[s] for s in scores], columns=["scores"])
wandb.log({"my_histogram": wandb.plot.histogram(table, "scores", title="Histogram")})

wandb.log(
    {
        "my_line_series": wandb.plot.line_series(
            xs=[0, 1, 2, 3, 4],
            ys=[[10, 20, 30, 40, 50], [0.5, 11, 72, 3, 41]],
            keys=["metric Y", "metric Z"],
            title="Two Random Metrics",
            xname="x units",
        )
    }
)

ground_truth = [0, 1, 1, 0]
predictions = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.8, 0.2]]
wandb.log({"pr": wandb.plot.pr_curve(ground_truth, predictions)})
wandb.log({"roc": wandb.plot.roc_curve(ground_truth, predictions)})
cm = wandb.plot.confusion_matrix(y_true=ground_truth, preds=[0, 1, 0, 0], class_names=["cat", "dog"])
wandb.log({"conf_mat": cm})

with open("some.html", "w") as f:
    f.write("<h1>report</h1>")
wandb.log({"custom_file": wandb.Html(open("some.html"))})  # noqa: SIM115
wandb.log({"custom_string": wandb.Html('<a href="https://mysite">Link</a>')})
run.finish()

print(
    json.dumps(
        {
            "run": f"{run.project}/{run.id}",
            "tables": {
                "my_custom_id": {
                    "columns": ["class_x", "class_y"],
                    "data": [[0.1, 0.2], [0.5, 0.4], [0.9, 0.8]],
                },
                "my_bar_chart_id": {"columns": ["label", "value"], "data": [["a", 3], ["b", 5]]},
                "my_histogram": {"columns": ["scores"], "data": [[0.1], [0.4], [0.4], [0.9]]},
            },
            "summary": {"custom_file": {"_type": "html-file"}, "custom_string": {"_type": "html-file"}},
            "summary_present": ["my_line_series", "pr", "roc", "conf_mat"],
        }
    )
)
