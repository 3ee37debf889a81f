// Draws test accuracy per epoch for every arm (mean over seeds) as a PNG, with the morph point marked.
using OxyPlot;
using OxyPlot.Annotations;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

internal static class AccuracyPlot
{
    /// <summary>
    /// x is the epochs a network has been trained, counting its ancestors: the child continues the parent's
    /// line at epoch P (the morph, where its epoch-0 accuracy is the parent's) up to P + R; scratch runs start at 1.
    /// </summary>
    /// <param name="data">Which data, with the image counts (<see cref="FashionMnistSplits.ShortDescription"/>), for the subtitle.</param>
    public static void Write(string path, IReadOnlyList<SeedResult> seeds, string data)
    {
        int parentEpochs = seeds[0].Parent.Epochs;
        var seedText = seeds.Count > 1 ? $"mean of seeds {string.Join(", ", seeds.Select(s => s.Seed))}" : $"seed {seeds[0].Seed}";
        var model = new PlotModel
        {
            Title = $"Test accuracy per epoch ({seedText})",
            Subtitle = data,
            Background = OxyColors.White,
        };
        var lastEpoch = seeds.SelectMany(s => s.Arms).Max(a => a.Curve.Count > 0 ? a.Curve[^1].Epoch : 0);
        var maxX = Math.Max(parentEpochs + (seeds.Select(s => s.Refit).OfType<ArmResult>().Select(a => a.Epochs).DefaultIfEmpty(0).Max()), lastEpoch);
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Bottom,
            Title = "epochs trained (child: parent's epochs + refit)",
            // Every curve starts at epoch 1; a little room either side keeps the end markers inside the frame.
            Minimum = 1 - 0.02 * Math.Max(1, maxX - 1),
            Maximum = maxX + 0.02 * Math.Max(1, maxX - 1),
            MajorStep = maxX <= 40 ? (maxX <= 20 ? 1 : 2) : double.NaN,
            MinorStep = maxX <= 40 ? 1 : double.NaN,
            IntervalLength = 40,
            LabelFormatter = x => x < 1 ? "" : x.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
        });
        // Headroom above the best point and below the worst, so no marker touches the frame.
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left,
            Title = "test accuracy (%)",
            MajorGridlineStyle = LineStyle.Dot,
            MaximumPadding = 0.12,
            MinimumPadding = 0.05,
        });
        model.Legends.Add(new Legend { LegendPosition = LegendPosition.BottomRight, LegendBackground = OxyColor.FromAColor(220, OxyColors.White) });

        Add(model, "parent", seeds, s => s.Parent, offset: 0, OxyColors.SteelBlue);
        Add(model, "child, morphed + refit", seeds, s => s.Refit, offset: parentEpochs, OxyColors.OrangeRed);
        Add(model, "child from scratch", seeds, s => s.Scratch, offset: 0, OxyColors.Gray);
        if (seeds.Any(s => s.LongScratch is not null))
            Add(model, "child from scratch, long", seeds, s => s.LongScratch, offset: 0, OxyColors.DarkGray, LineStyle.Dash);
        model.Annotations.Add(new LineAnnotation
        {
            Type = LineAnnotationType.Vertical,
            X = parentEpochs,
            Text = "morph",
            LineStyle = LineStyle.Dash,
            Color = OxyColors.Black,
            // Horizontal text beside the line's top end, clear of the dashes: readable.
            TextOrientation = AnnotationTextOrientation.Horizontal,
            TextLinePosition = 1,
            TextPadding = 8,
            TextMargin = 6,
        });

        using var stream = File.Create(path);
        new OxyPlot.SkiaSharp.PngExporter { Width = 1000, Height = 600 }.Export(model, stream);
    }

    /// <summary>One arm's mean curve over the seeds where it ran, as far as the shortest one goes; the legend says where it diverged or did not run.</summary>
    private static void Add(PlotModel model, string title, IReadOnlyList<SeedResult> seeds, Func<SeedResult, ArmResult?> arm, int offset,
        OxyColor color, LineStyle style = LineStyle.Solid)
    {
        var ran = seeds.Where(s => arm(s) is not null).ToList();
        var notes = new List<string>();
        if (ran.Where(s => arm(s)!.Diverged).Select(s => s.Seed).ToList() is { Count: > 0 } diverged)
            notes.Add(seeds.Count > 1 ? $"diverged, seed {string.Join(", ", diverged)}" : "diverged");
        if (seeds.Where(s => arm(s) is null).Select(s => s.Seed).ToList() is { Count: > 0 } notRun)
            notes.Add(seeds.Count > 1 ? $"not run, seed {string.Join(", ", notRun)}" : "not run");
        var series = new LineSeries
        {
            Title = notes.Count > 0 ? $"{title} ({string.Join("; ", notes)})" : title,
            Color = color,
            LineStyle = style,
            MarkerType = MarkerType.Circle,
            MarkerSize = 2.5,
        };
        var curves = ran.Select(s => arm(s)!.Curve).ToList();
        for (int i = 0; i < (curves.Count > 0 ? curves.Min(c => c.Count) : 0); i++)
            series.Points.Add(new DataPoint(offset + curves[0][i].Epoch, 100 * curves.Average(c => c[i].TestAccuracy)));
        model.Series.Add(series);
    }
}
