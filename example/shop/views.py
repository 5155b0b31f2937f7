"""
The shop's views. They're all synchronous: Django 3.0 can't run an
"async def" view. The tests drive them through Django's ASGI request handling
with the AsyncClient of the patched Django.
"""
import csv
import io

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from .forms import ItemForm
from .models import Item


def index(request):
    """A template-rendering view: the list of items as HTML."""
    return render(request, 'shop/index.html', {'items': Item.objects.all()})


def item_list(request):
    """The items as JSON, filtered by the ?q= query parameter if given."""
    items = Item.objects.all()
    query = request.GET.get('q')
    if query:
        items = items.filter(name__icontains=query)
    return JsonResponse({
        'items': [item.as_dict() for item in items],
        # Clients say which version of the API they speak in a header.
        'api_version': request.headers.get('X-Api-Version', '1'),
    })


def item_detail(request, pk):
    item = get_object_or_404(Item, pk=pk)
    return render(request, 'shop/item_detail.html', {'item': item})


def item_create(request):
    """
    A form with a file upload. A valid POST creates an item and redirects to
    it, or returns it as JSON with status 201 if the client accepts JSON. An
    invalid one renders the form again, with status 400.
    """
    if request.method == 'POST':
        form = ItemForm(request.POST, request.FILES)
        if form.is_valid():
            item = form.save()
            if 'application/json' in request.headers.get('Accept', ''):
                return JsonResponse(item.as_dict(), status=201)
            return redirect('shop:item_detail', pk=item.pk)
        status = 400
    else:
        form = ItemForm()
        status = 200
    return render(request, 'shop/item_form.html', {'form': form}, status=status)


def old_items(request):
    """The list's old address, kept for old bookmarks."""
    return redirect('shop:index', permanent=True)


@login_required
def account(request):
    return JsonResponse({'username': request.user.get_username()})


def item_export(request):
    """The items as CSV, streamed row by row."""
    # The rows are read from the database here, in the view, rather than by
    # the generator: the content of a streaming response is produced while
    # it's sent, and a test with the AsyncClient reads it in its event loop,
    # where the ORM can't be used.
    rows = list(Item.objects.values_list('name', 'price'))

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in [('name', 'price')] + rows:
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(generate(), content_type='text/csv')
    response['Content-Disposition'] = 'attachment; filename="items.csv"'
    return response
