"""GetMetricWidgetImage (moto 5.2.5 has no such call): a snapshot graph of a metric widget as a PNG, read
by metric_widgets.py and drawn by widget_drawing.py. OutputFormat png (the default) answers the image in
MetricWidgetImage; image/png answers it as the response's body, as AWS does for custom HTTP requests; any
other format is refused (AWS: "Only PNG images are supported"). A MetricWidget that is not a JSON object, or
whose fields are not what the widget structure allows, is refused with InvalidParameterInput."""

from datetime import UTC, datetime

from labkit.dataplane.core.seams import Seam

FORMATS = ("png", "image/png")


def _get_metric_widget_image(_absent):
    def get_metric_widget_image(self):
        from moto.cloudwatch.exceptions import DashboardInvalidInputError, InvalidParameterValue
        from moto.core.responses import ActionResult

        from labkit.dataplane.cloudwatch import metric_widgets, widget_drawing

        output_format = self._get_param("OutputFormat") or "png"
        if output_format not in FORMATS:
            raise InvalidParameterValue(
                f"The OutputFormat {output_format} is not supported: only png and image/png are"
            )
        try:
            widget = metric_widgets.read(
                self._get_param("MetricWidget") or "", self.cloudwatch_backend, datetime.now(UTC)
            )
        except metric_widgets.Invalid as invalid:
            raise DashboardInvalidInputError(str(invalid)) from None
        image = widget_drawing.png(widget)
        if output_format == "image/png":
            return 200, {"Content-Type": "image/png"}, image
        return ActionResult({"MetricWidgetImage": image})

    return get_metric_widget_image


SEAMS = (
    # Its code is InvalidParameterInput, as botocore's model names PutDashboard's invalid input.
    Seam("moto.cloudwatch.exceptions.DashboardInvalidInputError", contains='code = "InvalidParameterInput"'),
    Seam("moto.cloudwatch.exceptions.InvalidParameterValue", contains='code = "InvalidParameterValue"'),
    Seam("moto.cloudwatch.models.CloudWatchBackend.get_all_metrics", ("self",)),
    Seam("moto.cloudwatch.responses.CloudWatchResponse.get_metric_widget_image", replace=_get_metric_widget_image),
)
