from django.urls import path

from . import views

app_name = 'shop'

urlpatterns = [
    path('', views.index, name='index'),
    path('items/', views.item_list, name='item_list'),
    path('items/new/', views.item_create, name='item_create'),
    path('items/export.csv', views.item_export, name='item_export'),
    path('items/<int:pk>/', views.item_detail, name='item_detail'),
    path('old-items/', views.old_items, name='old_items'),
    path('account/', views.account, name='account'),
]
