"""Server-rendered pages."""
from django.shortcuts import render
from django.views.decorators.cache import cache_page

from flashsale import selectors


@cache_page(2)  # a reload storm on the front page costs one query every two seconds
def home(request):
    sales = selectors.with_remaining(list(selectors.sales_visible()))
    return render(request, "home.html", {"sales": sales})
