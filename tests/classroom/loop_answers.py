"""The optimization loop the loop checks' tests write their answers with (one piece at a time swapped out)."""
import torch


def fit(start, steps, loss_of, optimizer="adam", lr=0.05, clamp=True, copy=True):
    """`steps` steps of Adam (or L-BFGS) on loss_of(image), from `start` (a copy, unless copy=False),
    clamping to [0, 1] after each step unless clamp=False. Returns the image, detached."""
    image = start.clone().requires_grad_() if copy else start.requires_grad_()
    opt = torch.optim.LBFGS([image], max_iter=1) if optimizer == "lbfgs" else torch.optim.Adam([image], lr=lr)

    def closure():
        opt.zero_grad()
        loss = loss_of(image)
        loss.backward()
        return loss
    for _ in range(steps):
        opt.step(closure)
        if clamp:
            with torch.no_grad():
                image.clamp_(0, 1)
    return image.detach()
