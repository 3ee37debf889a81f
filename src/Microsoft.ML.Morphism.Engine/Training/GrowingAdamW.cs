// TorchSharp's AdamW with one step count per parameter entry, so the entries a growth point adds start their bias correction at step 0.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// AdamW (TorchSharp's, same options and state) whose bias correction can use a separate step count for each entry of
/// a parameter. TorchSharp keeps one count per parameter tensor: after a widen, the new entries of a grown tensor would
/// share the old entries' count, and with bias corrections near 1 their first updates would be lr·(1 − β₁)/√(1 − β₂) ≈
/// 3.2·lr instead of lr. Here such a parameter carries an offset tensor (its count minus each entry's own count); a
/// parameter without one — every parameter of a run that never grew — steps exactly as TorchSharp's AdamW, operation
/// for operation.
/// </summary>
internal sealed class GrowingAdamW(IEnumerable<AdamW.ParamGroup> groups, double lr) : AdamW(groups, lr)
{
    // Parameter handle -> float64 tensor: the parameter's step count minus each entry's own (0 for its oldest entries).
    private readonly Dictionary<IntPtr, Tensor> _offsets = [];

    /// <inheritdoc/>
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
        double eps = options.eps!.Value, lr = options.LearningRate!.Value;
        bool amsgrad = options.amsgrad!.Value, maximize = options.maximize!.Value;
        foreach (var param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (maximize)
                grad = -grad;
            state.step += 1;
            // Every Scalar held until its call returns: see HeldScalars.
            using var decay = (1 - lr * weightDecay).ToScalar();
            using var b1 = beta1.ToScalar();
            using var b2 = beta2.ToScalar();
            using var oneMinusB1 = (1 - beta1).ToScalar();
            using var oneMinusB2 = (1 - beta2).ToScalar();
            using var epsilon = eps.ToScalar();
            using var one = 1.ToScalar();
            param.mul_(decay);
            state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
            if (amsgrad)
            {
                var previous = state.max_exp_avg_sq;
                state.max_exp_avg_sq = maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                previous.Dispose();
            }
            var second = amsgrad ? state.max_exp_avg_sq : state.exp_avg_sq;
            if (_offsets.TryGetValue(param.Handle, out var offset))
            {
                // Each entry's own count t ≥ 1: bias corrections 1 − β^t per entry, in double, applied in the parameter's dtype.
                using var step = state.step.ToScalar();
                using var logBeta1 = Math.Log(beta1).ToScalar();
                using var logBeta2 = Math.Log(beta2).ToScalar();
                using var minusLr = (-lr).ToScalar();
                var own = offset.neg().add_(step, one);
                var correction1 = own.mul(logBeta1).exp_().neg_().add_(one, one);
                var correction2 = own.mul(logBeta2).exp_().neg_().add_(one, one);
                var denominator = (second.sqrt() / correction2.sqrt().to(second.dtype)).add_(epsilon, one);
                param.addcdiv_(state.exp_avg * correction1.reciprocal().mul(minusLr).to(param.dtype), denominator, value: one);
            }
            else
            {
                double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
                using var root = Math.Sqrt(correction2).ToScalar();
                using var size = (-(lr / correction1)).ToScalar();
                var denominator = second.sqrt().div(root).add_(epsilon, one);
                param.addcdiv_(state.exp_avg, denominator, value: size);
            }
        }
    }, closure);

    /// <summary>The step count of each entry of <paramref name="parameter"/> (float64, its shape).</summary>
    public Tensor EntrySteps(Parameter parameter)
    {
        var state = (State)_state[parameter.Handle];
        var steps = full(parameter.shape, (double)state.step, ScalarType.Float64);
        return _offsets.TryGetValue(parameter.Handle, out var offset) ? steps.sub_(offset) : steps;
    }

    /// <summary>The TorchSharp state of <paramref name="parameter"/> (its moments and parameter-wide step count).</summary>
    public State StateOf(Parameter parameter) => (State)_state[parameter.Handle];

    /// <summary>
    /// Sets the state of <paramref name="parameter"/>: its moments, and its entries' step counts (float64, its shape;
    /// whole numbers ≥ 0). The parameter-wide count becomes the largest; entries below it get an offset.
    /// </summary>
    public void Load(Parameter parameter, Tensor expAvg, Tensor expAvgSq, Tensor entrySteps)
    {
        using var scope = NewDisposeScope();
        var state = (State)_state[parameter.Handle];
        state.exp_avg.Dispose();
        state.exp_avg_sq.Dispose();
        state.exp_avg = expAvg.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope();
        state.exp_avg_sq = expAvgSq.to(parameter.dtype, parameter.device).clone().DetachFromDisposeScope();
        if (state.max_exp_avg_sq is not null)
        {
            state.max_exp_avg_sq.Dispose();
            state.max_exp_avg_sq = state.exp_avg_sq.clone().DetachFromDisposeScope();
        }
        var steps = entrySteps.to(ScalarType.Float64, parameter.device);
        long top = steps.numel() == 0 ? 0 : (long)steps.max().item<double>();
        state.step = top;
        if (_offsets.Remove(parameter.Handle, out var old))
            old.Dispose();
        var offset = steps.neg().add_(top);
        if (offset.numel() > 0 && offset.abs().max().item<double>() > 0)
            _offsets[parameter.Handle] = offset.DetachFromDisposeScope();
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var offset in _offsets.Values)
                offset.Dispose();
            _offsets.Clear();
        }
        base.Dispose(disposing);
    }
}
