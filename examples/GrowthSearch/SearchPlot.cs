// Draws the search's validation accuracy against cumulative training MACs and against wall time, every trial a point, as one PNG.
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;
using Microsoft.ML.Morphism.Search;
using SkiaSharp;

namespace Microsoft.ML.Morphism.Examples.GrowthSearch;

internal static class SearchPlot
{
    private const int PanelWidth = 900;
    private const int PanelHeight = 580;

    /// <summary>
    /// Two panels side by side: validation accuracy against the search's cumulative MACs (left) and its wall time (right).
    /// Each trial is a point where it ended; the start, children, incumbent re-trainings and the final training have their
    /// own markers, and the incumbent's path (the selected trials) is a line. Trials without an accuracy (diverged, or
    /// discarded untrained) are counted in the legend.
    /// </summary>
    /// <param name="subtitle">Which data and seed.</param>
    public static void Write(string path, SearchLineage lineage, string subtitle)
    {
        using var left = Render(Panel("Validation accuracy against compute", subtitle, lineage, t => t.CumulativeMacs,
            "cumulative training MACs of the search", legend: true, macs: true));
        using var right = Render(Panel("Validation accuracy against wall time", subtitle, lineage, t => t.CumulativeSeconds,
            "wall time of the search (s)", legend: false, macs: false));
        using var surface = SKSurface.Create(new SKImageInfo(2 * PanelWidth, PanelHeight));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawBitmap(left, 0, 0);
        surface.Canvas.DrawBitmap(right, PanelWidth, 0);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        var temp = path + ".tmp";
        using (var file = File.Create(temp))
            png.SaveTo(file);
        File.Move(temp, path, overwrite: true);
    }

    private static PlotModel Panel(string title, string subtitle, SearchLineage lineage, Func<TrialRecord, double> x, string xTitle, bool legend, bool macs)
    {
        var model = new PlotModel { Title = title, Subtitle = subtitle, Background = OxyColors.White, IsLegendVisible = legend };
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Title = xTitle,
            MinimumPadding = 0.03,
            MaximumPadding = 0.03,
            MajorGridlineStyle = LineStyle.Dot,
            LabelFormatter = macs ? v => v == 0 ? "0" : v.ToString("0.0e+0", System.Globalization.CultureInfo.InvariantCulture) : null,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            Title = "validation accuracy (%)",
            MajorGridlineStyle = LineStyle.Dot,
            MaximumPadding = 0.08,
            MinimumPadding = 0.05,
        });
        if (legend)
            model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomRight, LegendBackground = OxyColor.FromAColor(220, OxyColors.White) });

        var measured = lineage.Trials.Where(t => t.ValidationAccuracy is not null).ToList();
        var path = new LineSeries { Title = "incumbent's path (selected trials)", Color = OxyColors.OrangeRed, StrokeThickness = 2 };
        foreach (var t in lineage.IncumbentPath.Where(t => t.ValidationAccuracy is not null))
            path.Points.Add(new DataPoint(x(t), 100 * t.ValidationAccuracy!.Value));
        model.Series.Add(path);

        int unmeasured = lineage.Trials.Count(t => t.Kind == TrialKind.Child && t.ValidationAccuracy is null);
        var childTitle = unmeasured > 0 ? $"child ({unmeasured} discarded, not shown)" : "child";
        Points(model, measured, TrialKind.Child, childTitle, MarkerType.Circle, OxyColors.SteelBlue, 4, x);
        Points(model, measured, TrialKind.Incumbent, "incumbent trained on", MarkerType.Triangle, OxyColors.Gray, 5, x);
        Points(model, measured, TrialKind.Start, "start", MarkerType.Diamond, OxyColors.Black, 7, x);
        Points(model, measured, TrialKind.Final, "final training", MarkerType.Square, OxyColors.DarkRed, 6, x);
        return model;
    }

    private static void Points(PlotModel model, List<TrialRecord> trials, TrialKind kind, string title, MarkerType marker, OxyColor color, double size,
        Func<TrialRecord, double> x)
    {
        var series = new ScatterSeries { Title = title, MarkerType = marker, MarkerFill = color, MarkerSize = size };
        foreach (var t in trials.Where(t => t.Kind == kind))
            series.Points.Add(new ScatterPoint(x(t), 100 * t.ValidationAccuracy!.Value));
        if (series.Points.Count > 0)
            model.Series.Add(series);
    }

    private static SKBitmap Render(PlotModel model)
    {
        using var stream = new MemoryStream();
        new OxyPlot.SkiaSharp.PngExporter { Width = PanelWidth, Height = PanelHeight }.Export(model, stream);
        stream.Position = 0;
        return SKBitmap.Decode(stream) ?? throw new InvalidOperationException("OxyPlot's PNG could not be decoded.");
    }
}
