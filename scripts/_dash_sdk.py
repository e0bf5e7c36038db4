"""The few panel shapes the otel-llmcost dashboards use, on grafana-foundation-sdk builders.

Every panel queries the ``${datasource}`` variable, gets a stable id and a grid position from
:class:`Board` (left to right, wrapping at 24 columns), so the generated JSON only changes when
the dashboards do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, text, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm
from grafana_foundation_sdk.models import text as tm

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["llmcost", "otel-llmcost"]
_COLUMNS = 24


def query(
    expr: str, legend: str = "", *, instant: bool = False, table_format: bool = False
) -> prometheus.Dataquery:
    """A PromQL target; ``instant`` for a value now (stats, tables), else a range over time."""
    target = prometheus.Dataquery().ref_id("A").expr(expr).datasource(DATASOURCE)
    target = target.instant() if instant else target.range()
    if legend:
        target = target.legend_format(legend)
    if table_format:
        target = target.format(pm.PromQueryFormat.TABLE)
    return target


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    """``(None, "green"), (0.8, "orange"), (1, "red")``: colours from each value up."""
    return (
        dashboard.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=color) for value, color in steps])
    )


UTILIZATION_STEPS = thresholds((None, "green"), (0.8, "orange"), (1, "red"))


def stat_panel(title: str, expr: str, unit: str, description: str, *, time_from: str = "") -> stat.Panel:
    """One number now; ``time_from`` (``now/d``, ``now/M``) pins its range whatever the dashboard's."""
    panel = (
        stat.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
        .with_target(query(expr, instant=True))
        .graph_mode(cm.BigValueGraphMode.NONE).color_mode(cm.BigValueColorMode.VALUE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )  # fmt: skip
    if time_from:
        panel = panel.time_from(time_from)
    return panel


def series_panel(
    title: str,
    targets: Sequence[prometheus.Dataquery],
    unit: str,
    description: str,
    *,
    stacked: bool = False,
    max_value: float | None = None,
    threshold_line: float | None = None,
) -> timeseries.Panel:
    """Values over the dashboard's range, legend as a table with the mean and last values;
    ``threshold_line`` draws a dashed red line at that value (the level an alert uses)."""
    panel = (
        timeseries.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
        .targets([target.ref_id(chr(ord("A") + i)) for i, target in enumerate(targets)])
        .fill_opacity(20 if stacked else 10).line_width(1)
        .legend(
            cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.BOTTOM).show_legend(True).calcs(["mean", "lastNotNull"])
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )  # fmt: skip
    if stacked:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    if max_value is not None:
        panel = panel.max(max_value).min(0)
    if threshold_line is not None:
        panel = panel.thresholds(thresholds((None, "green"), (threshold_line, "red"))).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
        )
    return panel


def style_series(panel: timeseries.Panel, name: str, properties: dict[str, Any]) -> timeseries.Panel:
    """``panel`` with field-config ``properties`` (``custom.fillBelowTo``, ``color`` …) set for the
    series displayed as ``name`` (its legend)."""
    values = [dm.DynamicConfigValue(id_val=key, value=value) for key, value in properties.items()]
    return panel.override_by_name(name, values)


def bar_panel(
    title: str,
    expr: str,
    legend: str,
    unit: str,
    description: str,
    *,
    steps: dashboard.ThresholdsConfig | None = None,
    max_value: float | None = None,
) -> bargauge.Panel:
    """One horizontal bar per series, now (instant)."""
    panel = (
        bargauge.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
        .with_target(query(expr, legend, instant=True))
        .orientation(cm.VizOrientation.HORIZONTAL).display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .min(0)
    )  # fmt: skip
    if steps is not None:
        panel = panel.thresholds(steps)
    if max_value is not None:
        panel = panel.max(max_value)
    return panel


def table_panel(
    title: str, columns: Sequence[tuple[str, str, str]], description: str, *, labels: Sequence[str]
) -> table.Panel:
    """One row per label set: ``columns`` are ``(header, expr, unit)``, each an instant query
    aggregated ``by`` exactly ``labels``, merged into one table."""
    panel = table.Panel().title(title).description(description).datasource(DATASOURCE)
    renames: dict[str, str] = {}
    order: dict[str, int] = {label: i for i, label in enumerate(labels)}
    targets: list[cogbuilder.Builder[cogvariants.Dataquery]] = []
    for i, (header, expr, unit) in enumerate(columns):
        ref = chr(ord("A") + i)
        targets.append(query(expr, instant=True, table_format=True).ref_id(ref))
        renames[f"Value #{ref}"] = header
        order[f"Value #{ref}"] = len(labels) + i
        panel = panel.override_by_name(header, [dm.DynamicConfigValue(id_val="unit", value=unit)])
    organize = {"excludeByName": {"Time": True}, "indexByName": order, "renameByName": renames}
    return (
        panel.targets(targets)
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(dm.DataTransformerConfig(id_val="organize", options=organize))
    )


def text_panel(title: str, content: str) -> text.Panel:
    return text.Panel().title(title).mode(tm.TextMode.MARKDOWN).content(content)


class Board:
    """Lays panels out left to right, wrapping at 24 columns, with ids from 1."""

    def __init__(self, title: str, uid: str, description: str) -> None:
        self.uid = uid
        self.builder = (
            dashboard.Dashboard(title).uid(uid).description(description).tags(TAGS)
            .editable().timezone("utc").refresh("1m").tooltip(dm.DashboardCursorSync.CROSSHAIR)
            .link(
                dashboard.DashboardLink("otel-llmcost").type(dm.DashboardLinkType.DASHBOARDS)
                .tags(["llmcost"]).as_dropdown(True).include_vars(False).keep_time(True)
            )
            .with_variable(
                dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
            )
        )  # fmt: skip
        self._x = self._y = self._row_height = 0
        self._id = 0

    def _next_id(self) -> int:
        self._id += 1
        return self._id

    def variable(self, name: str, label: str, query_text: str) -> Board:
        """A multi-value variable with "All" = ``.*`` (so unset labels, e.g. no team, match too)."""
        self.builder.with_variable(
            dashboard.QueryVariable(name).label(label).datasource(DATASOURCE).query(query_text)
            .multi(True).include_all(True).all_value(".*")
            .current(dm.VariableOption(selected=True, text=["All"], value=["$__all"]))
            .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
        )  # fmt: skip
        return self

    def time(self, start: str) -> Board:
        self.builder.time(start, "now")
        return self

    def row(self, title: str) -> Board:
        self._newline()
        self.builder.with_row(
            dashboard.Row(title).id(self._next_id()).grid_pos(dm.GridPos(h=1, w=_COLUMNS, x=0, y=self._y))
        )
        self._y += 1
        return self

    def add(self, panel: Any, width: int, height: int) -> Board:
        """Place ``panel`` (a panel builder) ``width`` columns wide, wrapping when the row is full."""
        if self._x + width > _COLUMNS:
            self._newline()
        panel.id(self._next_id()).grid_pos(dm.GridPos(h=height, w=width, x=self._x, y=self._y))
        self.builder.with_panel(panel)
        self._x += width
        self._row_height = max(self._row_height, height)
        return self

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x = self._row_height = 0

    def to_json(self) -> str:
        return json.dumps(self.builder.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
