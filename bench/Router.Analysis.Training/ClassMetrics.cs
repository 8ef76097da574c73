namespace Router.Analysis.Training;

/// <summary>
/// Precision, recall and F1 per class from a confusion matrix (rows = truth, columns = predicted), and their macro mean
/// over the classes that have support. Shared by the trainer's inner cross-validation and the evaluator's report.
/// </summary>
internal static class ClassMetrics
{
    public static int[,] Confusion(IEnumerable<(int Truth, int Predicted)> pairs, int classes)
    {
        var matrix = new int[classes, classes];
        foreach (var (truth, predicted) in pairs)
        {
            matrix[truth, predicted]++;
        }

        return matrix;
    }

    public static (double Precision, double Recall, double F1, int Support) Of(int[,] confusion, int c)
    {
        var k = confusion.GetLength(0);
        int tp = confusion[c, c], support = 0, predicted = 0;
        for (var j = 0; j < k; j++)
        {
            support += confusion[c, j];
            predicted += confusion[j, c];
        }

        var precision = predicted == 0 ? 0 : (double)tp / predicted;
        var recall = support == 0 ? 0 : (double)tp / support;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return (precision, recall, f1, support);
    }

    /// <summary>Mean F1 over the classes with support, and how many those are.</summary>
    public static (double MacroF1, int Present) Macro(int[,] confusion)
    {
        double sum = 0;
        var present = 0;
        for (var c = 0; c < confusion.GetLength(0); c++)
        {
            var (_, _, f1, support) = Of(confusion, c);
            if (support > 0)
            {
                sum += f1;
                present++;
            }
        }

        return (sum / Math.Max(1, present), present);
    }
}
